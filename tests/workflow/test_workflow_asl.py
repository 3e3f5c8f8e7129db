"""Builder, to_asl/from_asl, validation."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smkit.errors import ValidationError
from smkit.workflow import (
    Catch,
    Choice,
    Fail,
    Map,
    Parallel,
    Pass,
    Retry,
    Succeed,
    Task,
    Var,
    Wait,
    When,
    Workflow,
    confidence_filter,
    image_classification_workflow,
)

CONSOLE_JSONATA = {
    "Comment": "exported from the Step Functions console",
    "QueryLanguage": "JSONata",
    "StartAt": "Lambda Invoke",
    "States": {
        "Lambda Invoke": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Output": "{% $states.result.Payload %}",
            "Arguments": {"FunctionName": "double:$LATEST", "Payload": "{% $states.input %}"},
            "Retry": [
                {
                    "ErrorEquals": ["Lambda.ServiceException", "Lambda.TooManyRequestsException"],
                    "IntervalSeconds": 1,
                    "MaxAttempts": 3,
                    "BackoffRate": 2,
                    "JitterStrategy": "FULL",
                }
            ],
            "Assign": {"doubled": "{% $states.result.Payload.value %}"},
            "Next": "Choice",
        },
        "Choice": {
            "Type": "Choice",
            "Choices": [{"Condition": "{% $doubled > 10 %}", "Next": "Big"}],
            "Default": "Small",
        },
        "Big": {"Type": "Pass", "Output": {"size": "big", "v": "{% $doubled %}"}, "End": True},
        "Small": {"Type": "Fail", "Error": "TooSmall", "Cause": "{% 'got ' & $string($doubled) %}"},
    },
}


def test_chain_links_and_asl():
    wf = Workflow("w", Pass("A") >> Wait("W", 1) >> Succeed("S"))
    asl = wf.to_asl()
    assert asl["StartAt"] == "A"
    assert asl["States"]["A"] == {"Type": "Pass", "Next": "W"}
    assert asl["States"]["W"] == {"Type": "Wait", "Seconds": 1, "Next": "S"}
    assert asl["States"]["S"] == {"Type": "Succeed"}


def test_seed_workflow_round_trip():
    wf = image_classification_workflow("img", endpoint_name="ep", threshold=0.8)
    again = Workflow.from_asl(json.dumps(wf.to_asl()), name="img")
    assert again.to_asl() == wf.to_asl()
    choice = wf.to_asl()["States"]["ConfidenceCheck"]
    assert choice["Choices"][0]["NumericGreaterThanEquals"] == 0.8
    assert wf.to_asl()["States"]["ConfidenceBelowThreshold"]["Cause"].startswith(
        "confidence below threshold"
    )


def test_console_jsonata_definition_reads_and_round_trips():
    wf = Workflow.from_asl(CONSOLE_JSONATA, name="console")
    assert wf.to_asl() == CONSOLE_JSONATA


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["States"]["A"].update(Type="Bogus"), "'A': unknown state type"),
        (lambda d: d["States"]["A"].pop("Next"), "'A': needs exactly one of Next and End"),
        (lambda d: d["States"]["A"].update(Next="Nowhere"), "'A': Next 'Nowhere' names no state"),
        (lambda d: d["States"].update(Orphan={"Type": "Succeed"}), "'Orphan': unreachable"),
        (lambda d: d["States"]["A"].update(InputPath="$.a["), "'A': InputPath"),
        (lambda d: d["States"]["A"].update(ResultPath="$.a[*]"), "'A': ResultPath"),
        (lambda d: d["States"]["A"].update(Parameters={"x.$": "nope"}), "'A': Parameters"),
        (
            lambda d: d["States"]["A"].update(Parameters={"x.$": "States.Nope(1)"}),
            "'A': Parameters",
        ),
        (lambda d: d["States"]["A"].update(Bogus=1), "'A': field 'Bogus' is not allowed"),
        (lambda d: d["States"]["A"].update(Output="{% 1 %}"), "'A': Output only allowed"),
        (lambda d: d.update(StartAt="Z"), "StartAt 'Z' names no state"),
        (lambda d: d["States"]["B"].update(Choices=[]), "'B': a Choice state needs"),
        (
            lambda d: d["States"]["B"]["Choices"][0].update(NumericEquals=1),
            "'B': a Choice rule needs exactly one comparison operator",
        ),
    ],
)
def test_bad_definitions_name_the_state(mutate, message):
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "StringEquals": "y", "Next": "C"}],
                "Default": "C",
            },
            "C": {"Type": "Succeed"},
        },
    }
    mutate(definition)
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("*", r"\*")):
        Workflow.from_asl(definition)


def test_bad_jsonata_is_rejected():
    bad = json.loads(json.dumps(CONSOLE_JSONATA))
    bad["States"]["Big"]["Output"] = "{% $doubled + %}"
    with pytest.raises(ValidationError, match="'Big'"):
        Workflow.from_asl(bad)


def test_retry_validation():
    with pytest.raises(ValidationError, match="States.ALL must appear alone"):
        Retry(["States.ALL", "X"])
    with pytest.raises(ValidationError, match="jitter_strategy"):
        Retry("X", jitter_strategy="HALF")
    with pytest.raises(ValidationError, match="backoff_rate"):
        Retry("X", backoff_rate=0.5)


def test_conditions_and_parallel_map_round_trip():
    done = Succeed("Done")
    choice = Choice(
        "C",
        [
            When((Var("$.n") > 3) & ~(Var("$.s") == "x"), done),
            When(Var("$.t").is_present() | Var("$.u").is_null(), done),
            When(Var("$.s").matches("log-*.txt"), done),
        ],
        default=Fail("F", error="E"),
    )
    par = Parallel("P", [Pass("P1"), Pass("P2a") >> Pass("P2b")], result_path="$.par")
    mp = Map(
        "M",
        Task.lambda_("T", "fn", retry=[Retry("States.ALL", max_attempts=1)]),
        items_path="$.items",
        item_selector={"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
        max_concurrency=2,
        catch=[Catch("States.ALL", "F", result_path="$.err")],
    )
    wf = Workflow("x", par >> mp >> choice)
    asl = wf.to_asl()
    assert asl["States"]["P"]["Branches"][1]["States"]["P2a"]["Next"] == "P2b"
    assert asl["States"]["M"]["ItemProcessor"]["ProcessorConfig"] == {"Mode": "INLINE"}
    assert asl["States"]["C"]["Choices"][0]["And"][1] == {
        "Not": {"Variable": "$.s", "StringEquals": "x"}
    }
    assert Workflow.from_asl(asl, name="x").to_asl() == asl


# -- hypothesis: generated state machines round-trip ------------------------------------------
_names = st.from_regex(r"[A-Z][a-z]{1,6}", fullmatch=True)
_paths = st.sampled_from(["$", "$.a", "$.a.b", "$['k']", "$.list[0]"])
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text("abc", max_size=3),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text("xy", max_size=2), inner, max_size=2)
    ),
    max_leaves=4,
)


@st.composite
def _state_machines(draw):
    names = draw(st.lists(_names, min_size=1, max_size=6, unique=True))
    states = {}
    for i, name in enumerate(names):
        last = i == len(names) - 1
        kind = draw(
            st.sampled_from(
                ["Pass", "Task", "Wait", "Choice"]
                if not last
                else ["Pass", "Succeed", "Fail", "Task"]
            )
        )
        link = {"End": True} if last else {"Next": names[i + 1]}
        if kind == "Pass":
            body = {"Type": "Pass", **link}
            if draw(st.booleans()):
                body["Result"] = draw(_json_values)
            if draw(st.booleans()):
                body["InputPath"] = draw(_paths)
            if draw(st.booleans()):
                body["ResultPath"] = draw(st.sampled_from([None, "$.r", "$.r.s"]))
            if draw(st.booleans()):
                body["Parameters"] = {"x.$": draw(_paths), "lit": draw(_json_values)}
        elif kind == "Task":
            body = {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
                **link,
            }
            if draw(st.booleans()):
                body["Retry"] = [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "IntervalSeconds": draw(st.integers(1, 5)),
                        "MaxAttempts": draw(st.integers(0, 4)),
                        "BackoffRate": draw(st.sampled_from([1.0, 1.5, 2.0])),
                        "JitterStrategy": draw(st.sampled_from(["FULL", "NONE"])),
                    }
                ]
            if draw(st.booleans()):
                body["ResultSelector"] = {"p.$": "$.Payload"}
                body["OutputPath"] = draw(_paths)
        elif kind == "Wait":
            body = {"Type": "Wait", "Seconds": draw(st.integers(0, 10)), **link}
        elif kind == "Choice":
            body = {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": draw(_paths),
                        "NumericGreaterThan": draw(st.integers(-3, 3)),
                        "Next": names[i + 1],
                    }
                ],
            }
            if draw(st.booleans()):
                body["Default"] = names[i + 1]
        elif kind == "Fail":
            body = {"Type": "Fail", "Error": "E", "Cause": draw(st.text("abc ", max_size=5))}
        else:
            body = {"Type": "Succeed"}
        states[name] = body
    return {"StartAt": names[0], "States": states}


@settings(max_examples=60, deadline=None)
@given(_state_machines())
def test_from_asl_to_asl_round_trip(definition):
    wf = Workflow.from_asl(definition, name="gen")
    assert wf.to_asl() == definition
    assert Workflow.from_asl(wf.to_json(), name="gen").to_asl() == definition


def test_confidence_filter_needs_a_follower_or_target():
    with pytest.raises(ValidationError, match="nothing follows the Choice"):
        Workflow("w", Pass("A") >> confidence_filter(0.5))
    with pytest.raises(ValidationError, match="threshold"):
        confidence_filter(1.5)


def test_diagram_highlights_path():
    wf = image_classification_workflow("img")
    text = wf.diagram(
        ["SerializeImageData", "Classify", "ConfidenceCheck", "ConfidenceBelowThreshold"],
        failed="ConfidenceBelowThreshold",
    )
    assert text.startswith("flowchart TD")
    assert "classDef failed" in text and "class s6 failed" in text
    assert "linkStyle" in text
    assert "$.body.confidence #gt;= 0.9" in text
