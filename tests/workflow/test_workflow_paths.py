"""Hypothesis tests of ASL path processing."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smkit.workflow.query import (
    MISSING,
    StatesError,
    apply_result_path,
    evaluate_intrinsic,
    process_template,
    read_path,
    select,
)

keys = st.text("abcde", min_size=1, max_size=3)
scalars = st.none() | st.booleans() | st.integers(-100, 100) | st.text("xyz", max_size=4)
docs = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=10,
)
objects = st.dictionaries(keys, docs, min_size=1, max_size=4)


def _leaf_paths(doc, prefix="$"):
    yield prefix, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _leaf_paths(v, f"{prefix}.{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _leaf_paths(v, f"{prefix}[{i}]")


@settings(max_examples=80, deadline=None)
@given(objects, st.data())
def test_input_output_path_select_the_value(doc, data):
    path, value = data.draw(st.sampled_from(list(_leaf_paths(doc))))
    assert select(path, doc, field="InputPath") == value
    assert select(None, doc, field="InputPath") == {}


@settings(max_examples=80, deadline=None)
@given(objects, docs, st.lists(keys, min_size=1, max_size=3))
def test_result_path_places_the_result_and_keeps_the_rest(doc, result, parts):
    path = "$." + ".".join(parts)
    before = copy.deepcopy(doc)
    try:
        out = apply_result_path(path, doc, result)
    except StatesError as exc:
        assert exc.error == "States.ResultPathMatchFailure"
        return
    assert doc == before  # the input is not mutated
    assert read_path(path, out) == result
    for key in doc:
        if key != parts[0]:
            assert out[key] == doc[key]
    assert apply_result_path("$", doc, result) == result
    assert apply_result_path(None, doc, result) == doc


@settings(max_examples=80, deadline=None)
@given(objects, st.data())
def test_parameters_dollar_keys_take_path_values(doc, data):
    path, value = data.draw(st.sampled_from(list(_leaf_paths(doc))))
    template = {"fixed": "x", "nested": {"got.$": path, "list": [{"again.$": path}]}}
    out = process_template(template, doc, context={"Execution": {"Id": "e"}})
    assert out == {"fixed": "x", "nested": {"got": value, "list": [{"again": value}]}}
    assert process_template(
        {"ctx.$": "$$.Execution.Id"}, doc, context={"Execution": {"Id": "e"}}
    ) == {"ctx": "e"}


def test_missing_paths_and_wildcards():
    doc = {"a": [{"b": 1}, {"b": 2}], "c": None}
    assert read_path("$.zz", doc) is MISSING
    assert read_path("$.c", doc) is None
    assert read_path("$.a[*].b", doc) == [1, 2]
    with pytest.raises(StatesError, match="States.Runtime"):
        process_template({"x.$": "$.zz"}, doc)
    with pytest.raises(StatesError, match="ResultPathMatchFailure"):
        apply_result_path("$.c.d", {"c": 3}, 1)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("States.Format('a{}b{}', $.s, $.n)", "axb3"),
        ("States.Format('esc \\{\\} {}', $.s)", "esc {} x"),
        ("States.MathAdd($.n, -1)", 2),
        ("States.ArrayPartition(States.Array(1,2,3), 2)", [[1, 2], [3]]),
        ("States.ArrayContains(States.Array(1,2), 2)", True),
        ("States.ArrayRange(1, 9, 4)", [1, 5, 9]),
        ("States.ArrayGetItem(States.Array('a','b'), 1)", "b"),
        ("States.ArrayUnique(States.Array(1,1,2))", [1, 2]),
        ("States.Base64Decode(States.Base64Encode($.s))", "x"),
        ("States.JsonMerge($.o, States.StringToJson('{\"k\":2}'), false)", {"k": 2, "j": 1}),
        ("States.StringSplit('a,b;c', ',;')", ["a", "b", "c"]),
        (
            "States.Hash('abc', 'SHA-256')",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
    ],
)
def test_intrinsic_functions(expr, expected):
    doc = {"s": "x", "n": 3, "o": {"k": 1, "j": 1}}
    assert evaluate_intrinsic(expr, doc) == expected


def test_uuid_and_bad_intrinsic():
    assert len(evaluate_intrinsic("States.UUID()", {})) == 36
    with pytest.raises(StatesError, match="IntrinsicFailure"):
        evaluate_intrinsic("States.MathAdd('a', 1)", {})
