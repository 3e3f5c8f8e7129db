"""Property-based fuzzing of every parser that takes outside input.

Each target feeds arbitrary (and adversarial) input to one parser; the only exception it
may raise is a smkit error (``SmkitError``), or, for the endpoint's request decoding, the
handler's ``RequestError`` (an HTTP 4xx answer). ``TARGETS`` is reused by
``benchmarks/reliability.py`` to count cases.
"""

from __future__ import annotations

import base64
import io
import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from smkit.errors import SmkitError

DEEP = "[" * 100_000  # json.loads raises RecursionError, not ValueError
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# -- strategies --------------------------------------------------------------------------
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
ASL_KEYS = [
    "StartAt",
    "States",
    "Type",
    "Next",
    "End",
    "Choices",
    "Variable",
    "Default",
    "Resource",
    "Parameters",
    "ResultPath",
    "InputPath",
    "OutputPath",
    "Retry",
    "Catch",
    "ErrorEquals",
    "Seconds",
    "Branches",
    "Iterator",
    "ItemsPath",
    "Result",
    "Comment",
    "TimeoutSeconds",
    "StringEquals",
    "NumericGreaterThan",
    "And",
    "Or",
    "Not",
    "Error",
    "Cause",
    "MaxAttempts",
    "IntervalSeconds",
    "BackoffRate",
    "ItemProcessor",
    "ProcessorConfig",
    "Version",
]
ASL_TYPES = ["Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map", "Bogus"]
asl_scalar = (
    st.sampled_from(ASL_TYPES)
    | st.sampled_from(["A", "B", "$.x", "$", "$$.Execution.Id", "States.ALL", "x.$"])
    | json_scalars
)
asl_values = st.recursive(
    asl_scalar,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(ASL_KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=30,
)


@st.composite
def asl_definitions(draw: Any) -> Any:
    states = draw(
        st.dictionaries(
            st.sampled_from(["A", "B", "C"]),
            st.fixed_dictionaries(
                {"Type": st.sampled_from(ASL_TYPES)},
                optional={k: asl_values for k in ASL_KEYS[3:20]},
            ),
            max_size=3,
        )
    )
    out: dict[str, Any] = {
        "StartAt": draw(st.sampled_from(["A", "B", "Z"]) | asl_values),
        "States": states,
    }
    if draw(st.booleans()):
        out[draw(st.sampled_from(ASL_KEYS))] = draw(asl_values)
    return draw(st.sampled_from([out, json.dumps(out, default=str)]))


bucketish = st.text(alphabet=string.ascii_lowercase + string.digits + ".-_A", max_size=70)
s3_uris = (
    st.builds(lambda b, k: f"s3://{b}/{k}", bucketish, st.text(max_size=40))
    | st.text(max_size=60)
    | st.builds(lambda k: f"s3://bucket/{k}", st.text(alphabet="./\\\x00ab", max_size=12))
)
CONTENT_TYPES = [
    "text/csv",
    "application/json",
    "application/x-npy",
    "text/csv; charset=utf-8",
    "application/octet-stream",
    "",
    "image/png",
    "TEXT/CSV",
]


@st.composite
def npy_bodies(draw: Any) -> bytes:
    """Real .npy files, truncated or with a lying header, and raw bytes."""
    import numpy as np

    kind = draw(st.sampled_from(["valid", "truncated", "header", "raw"]))
    if kind == "raw":
        return draw(st.binary(max_size=200))
    arr = np.asarray(draw(st.lists(st.floats(allow_nan=True), min_size=0, max_size=8)))
    buf = io.BytesIO()
    np.save(buf, arr.reshape(-1, 2) if arr.size % 2 == 0 and arr.size else arr)
    data = buf.getvalue()
    if kind == "truncated":
        return data[: draw(st.integers(0, len(data)))]
    if kind == "header":
        shape = draw(
            st.sampled_from(["(10**9,)", "(4294967296, 65536)", "(-1,)", "()", "(3, 'a')"])
        )
        header = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }"
        header = header.ljust(118) + "\n"
        return (
            b"\x93NUMPY\x01\x00"
            + len(header).to_bytes(2, "little")
            + header.encode()
            + b"\x00" * 16
        )
    return data


payloads = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(st.lists(st.floats() | st.text(max_size=5), max_size=5), max_size=5).map(
        lambda rows: "\n".join(",".join(map(str, r)) for r in rows).encode()
    ),
    npy_bodies(),
    st.just(DEEP.encode()),
)


@st.composite
def capture_lines(draw: Any) -> list[str]:
    def part(mode: str) -> Any:
        enc = draw(st.sampled_from(["CSV", "JSON", "BASE64", "base64", "XML", 7]))
        data = draw(
            st.text(max_size=40)
            | json_values.map(json.dumps)
            | st.binary(max_size=30).map(lambda b: base64.b64encode(b).decode())
            | st.just(DEEP)
        )
        base = {
            "observedContentType": draw(st.sampled_from(CONTENT_TYPES)),
            "mode": mode,
            "data": data,
            "encoding": enc,
        }
        return draw(
            st.sampled_from(
                [base, {k: v for k, v in base.items() if k != "data"}, data, None, [base]]
            )
        )

    lines = []
    for _ in range(draw(st.integers(0, 4))):
        record = {
            "captureData": {"endpointInput": part("INPUT"), "endpointOutput": part("OUTPUT")},
            "eventMetadata": {"eventId": "x", "inferenceTime": "2024-01-01T00:00:00Z"},
            "eventVersion": "0",
        }
        text = json.dumps(record)
        lines.append(draw(st.sampled_from([text, text[: len(text) // 2], DEEP, "", "null", "[]"])))
    return lines


stats_docs = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"version": st.sampled_from([0.0, "0.0", 1, None, "x"])},
        optional={
            "features": st.lists(
                st.dictionaries(
                    st.sampled_from(
                        [
                            "name",
                            "inferred_type",
                            "numerical_statistics",
                            "completeness",
                            "string_statistics",
                        ]
                    ),
                    json_values,
                    max_size=4,
                ),
                max_size=3,
            )
            | json_values,
            "dataset": json_values,
        },
    ),
)
stats_texts = stats_docs.map(lambda d: json.dumps(d)) | st.text(max_size=80) | st.just(DEEP)
hp_pairs = st.lists(
    st.text(max_size=12)
    | st.builds(
        lambda k, v: f"{k}={v}",
        st.text(max_size=8),
        st.text(max_size=20) | json_values.map(json.dumps) | st.just(DEEP),
    ),
    max_size=5,
)


# -- targets -----------------------------------------------------------------------------
def check_s3_uri(text: str) -> None:
    from smkit import uri

    try:
        _bucket, key = uri.parse(text)
        uri.join(text, "part", "x.csv")
        if key:
            uri.check_key(key)
    except SmkitError:
        pass


def check_request_decoding(body: bytes, content_type: str) -> None:
    from smkit.backends.local.handlers import RequestError, decode_array

    try:
        decode_array(body, content_type)
    except RequestError as exc:
        assert 400 <= exc.status < 500


def check_response_decoding(body: bytes, content_type: str) -> None:
    from smkit.serving.predictor import deserializer_for

    for name in ("csv", "json", "npy"):
        try:
            deserializer_for(name).deserialize(body, content_type)
        except SmkitError:
            pass


def check_capture_reader(lines: list[str]) -> None:
    from smkit.backends.local.monitor import ReadStats, iter_capture_rows

    stats = ReadStats()
    rows = list(iter_capture_rows(lines, stats))
    assert stats.lines <= len(lines)
    assert all(isinstance(r, list) for r in rows)


def check_statistics_files(doc: Any, tmp: Path) -> None:
    from smkit.monitoring.files import read_constraints, read_statistics

    path = tmp / "statistics.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    for reader in (read_statistics, read_constraints):
        for source in (path, doc) if not isinstance(doc, str) else (path,):
            try:
                reader(source)
            except SmkitError:
                pass


def check_asl(definition: Any) -> None:
    from smkit.workflow import Workflow

    try:
        Workflow.from_asl(definition)
    except SmkitError:
        pass


def check_hyperparameters(items: list[str]) -> None:
    from smkit.commands._common import parse_pairs
    from smkit.commands.cmd_train import _value
    from smkit.training import TrainingSpec
    from smkit.training.contract import decode_hyperparameters, encode_hyperparameters

    try:
        values = {k: _value(v) for k, v in parse_pairs(items, "--hp").items()}
        spec = TrainingSpec(entry_point="train.py", hyperparameters=values)
        encoded = encode_hyperparameters(spec.hyperparameters, script_mode=True)
        assert decode_hyperparameters(encoded).keys() == spec.hyperparameters.keys()
    except SmkitError:
        pass
    decode_hyperparameters(dict(enumerate(items)))  # a hyperparameters.json never raises


def check_usecase_settings(items: list[str]) -> None:
    from smkit.commands._common import parse_pairs
    from smkit.usecases._base import _convert

    try:
        for key, value in parse_pairs(items, "--set").items():
            for annotation in (int, float, bool, str, list[str], tuple[str, ...], int | None):
                try:
                    _convert(value, annotation, key)
                except SmkitError:
                    pass
    except SmkitError:
        pass


def _in_tmp(doc: Any) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        check_statistics_files(doc, Path(tmp))


#: name -> (strategy of one case, check taking the drawn case)
TARGETS: dict[str, tuple[Any, Any]] = {
    "s3 uri": (s3_uris, check_s3_uri),
    "request payload (csv/json/npy)": (
        st.tuples(payloads, st.sampled_from(CONTENT_TYPES)),
        lambda case: check_request_decoding(*case),
    ),
    "response payload (predictor)": (
        st.tuples(payloads, st.sampled_from(CONTENT_TYPES)),
        lambda case: check_response_decoding(*case),
    ),
    "capture jsonl": (capture_lines(), check_capture_reader),
    "statistics/constraints files": (stats_texts | stats_docs, lambda doc: _in_tmp(doc)),
    "asl definition": (asl_definitions(), check_asl),
    "hyperparameters (--hp)": (hp_pairs, check_hyperparameters),
    "use-case settings (--set)": (hp_pairs, check_usecase_settings),
}


# -- tests -------------------------------------------------------------------------------
@FUZZ
@given(s3_uris)
@example("s3://bucket/../../etc/passwd")
@example("s3://bucket/a/\x00b")
def test_fuzz_s3_uris(text):
    check_s3_uri(text)


@FUZZ
@given(payloads, st.sampled_from(CONTENT_TYPES))
@example(DEEP.encode(), "application/json")
@example(
    b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (10000000000,), }"
    + b" " * 48
    + b"\n",
    "application/x-npy",
)
def test_fuzz_request_payloads(body, content_type):
    check_request_decoding(body, content_type)


@FUZZ
@given(payloads, st.sampled_from(CONTENT_TYPES))
@example(DEEP.encode(), "application/json")
@example(b"\xff\xfe", "text/csv")
def test_fuzz_response_payloads(body, content_type):
    check_response_decoding(body, content_type)


@FUZZ
@given(capture_lines())
@example([DEEP])
def test_fuzz_capture_jsonl(lines):
    check_capture_reader(lines)


@FUZZ
@given(stats_texts | stats_docs)
@example(DEEP)
def test_fuzz_statistics_and_constraints(tmp_path, doc):
    check_statistics_files(doc, tmp_path)


@FUZZ
@given(asl_definitions() | st.text(max_size=300) | json_values)
@example("{" + DEEP)
@example("x" * 5000)
def test_fuzz_asl_definitions(definition):
    check_asl(definition)


@FUZZ
@given(hp_pairs)
@example([f"depth={DEEP}"])
@example(["lr=NaN", "x=Infinity"])
def test_fuzz_hyperparameter_strings(items):
    check_hyperparameters(items)


@FUZZ
@given(hp_pairs)
@example(["epochs=1e999", "flag=maybe", "n=∞"])
def test_fuzz_usecase_settings(items):
    check_usecase_settings(items)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_targets_are_registered(name):
    strategy, check = TARGETS[name]
    assert callable(check) and strategy is not None
