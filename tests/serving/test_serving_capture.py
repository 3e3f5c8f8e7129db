"""The capture writer: SageMaker's JSONL shape and key layout, sampling, flush, drain."""

from __future__ import annotations

import base64
import calendar
import json
import re

import pytest
from serving_helpers import FIXTURES

from smkit.backends.local.capture import CaptureWriter, capture_record
from smkit.backends.local.store import LocalStore

KEY_RE = re.compile(
    r"^s3://bkt/capture/ep/AllTraffic/(\d{4})/(\d{2})/(\d{2})/(\d{2})/"
    r"\d{2}-\d{2}-\d{3}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}\.jsonl$"
)
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def shape(obj):
    """The nested key structure of a JSON object (values replaced by their type)."""
    if isinstance(obj, dict):
        return {k: shape(v) for k, v in obj.items()}
    return type(obj).__name__


def test_record_has_the_fixture_shape():
    fixture = [json.loads(line) for line in (FIXTURES / "monitor-capture.jsonl").open()]
    rec = capture_record((1_700_000_000.0, b"9,45,45\n", "text/csv", b"0.3", "text/csv", None))
    assert shape(rec) == shape(fixture[0])
    assert rec["captureData"]["endpointInput"] == {
        "observedContentType": "text/csv",
        "mode": "INPUT",
        "data": "9,45,45\n",
        "encoding": "CSV",
    }
    assert rec["eventMetadata"]["inferenceTime"] == "2023-11-14T22:13:20Z"
    assert rec["eventVersion"] == "0"
    json_fixture = json.loads((FIXTURES / "monitor-captured-data.jsonl").open().readline())
    rec = capture_record(
        (0.0, b'{"instances": [1.0]}', "application/json", b"{}", "application/json", "inf-1")
    )
    assert rec["captureData"]["endpointInput"]["encoding"] == "JSON"
    assert set(rec["captureData"]) == set(json_fixture["captureData"])
    assert rec["eventMetadata"]["inferenceId"] == "inf-1"


def test_other_types_are_base64_and_output_can_be_left_out():
    rec = capture_record(
        (0.0, b"\x93NUMPY", "application/x-npy", b"x", "text/csv; charset=utf-8", None),
        capture_output=False,
    )
    inp = rec["captureData"]["endpointInput"]
    assert inp["encoding"] == "BASE64" and base64.b64decode(inp["data"]) == b"\x93NUMPY"
    assert "endpointOutput" not in rec["captureData"]
    # charset parameters do not change the encoding; observedContentType keeps them
    rec = capture_record((0.0, b"1\n", "text/csv; charset=utf-8", b"2", "text/csv", None))
    assert rec["captureData"]["endpointInput"]["encoding"] == "CSV"
    assert rec["captureData"]["endpointInput"]["observedContentType"] == "text/csv; charset=utf-8"


def _read_all(store, prefix):
    out = []
    for obj in store.list(prefix):
        assert KEY_RE.match(obj.uri), obj.uri
        out += [json.loads(line) for line in store.get_bytes(obj.uri).decode().splitlines()]
    return out


def test_writer_flush_key_layout_and_hour_buckets(tmp_path):
    store = LocalStore(tmp_path)
    w = CaptureWriter(store, "s3://bkt/capture/ep/AllTraffic", flush_interval=30)
    t1 = calendar.timegm((2024, 3, 1, 10, 59, 59)) + 0.5
    t2 = calendar.timegm((2024, 3, 1, 11, 0, 1))
    for i in range(50):
        w.submit((t1 if i < 25 else t2, f"{i}\n".encode(), "text/csv", b"1", "text/csv", None))
    assert w.flush(timeout=10)
    records = _read_all(store, "s3://bkt/capture/ep/AllTraffic/")
    assert len(records) == 50
    assert sorted(int(r["captureData"]["endpointInput"]["data"]) for r in records) == list(
        range(50)
    )
    hours = {o.uri.split("/")[-2] for o in store.list("s3://bkt/capture/")}
    assert hours == {"10", "11"}
    first = min(o.uri for o in store.list("s3://bkt/capture/ep/AllTraffic/2024/03/01/10/"))
    assert first.rsplit("/", 1)[1].startswith("59-59-500-")
    assert all(TIME_RE.match(r["eventMetadata"]["inferenceTime"]) for r in records)
    assert len({r["eventMetadata"]["eventId"] for r in records}) == 50
    w.close()


def test_close_drains_everything_queued(tmp_path):
    store = LocalStore(tmp_path)
    w = CaptureWriter(store, "s3://bkt/capture/ep/AllTraffic", flush_interval=60, max_batch=10**9)
    for i in range(2000):
        w.submit((1.7e9, f"{i}\n".encode(), "text/csv", None, None, f"id-{i}"))
    w.close()
    records = _read_all(store, "s3://bkt/capture/ep/AllTraffic/")
    assert len(records) == 2000 == w.written
    assert {r["eventMetadata"]["inferenceId"] for r in records} == {f"id-{i}" for i in range(2000)}
    with pytest.raises(RuntimeError, match="closed"):
        w.submit((0.0, b"", "text/csv", None, None, None))


@pytest.mark.parametrize("pct, lo, hi", [(0, 0, 0), (100, 1000, 1000), (30, 240, 360)])
def test_sampling_percentage(tmp_path, pct, lo, hi):
    w = CaptureWriter(LocalStore(tmp_path), "s3://bkt/c/e/v", sampling_percentage=pct, seed=1)
    hits = sum(w.sampled() for _ in range(1000))
    w.close()
    assert lo <= hits <= hi


@pytest.mark.parametrize(
    "event",
    [
        (1.7e9, b"1,2\n", "text/csv", b"0.5", "text/csv", None),
        (1.7e9, b'{"a": "\\u00e9\\n"}', "application/json", b"{}", None, 'id "q"'),
        (1.7e9, "caf\u00e9,\u00fc\n".encode(), "text/csv; charset=utf-8", b"\xff", "x/y", None),
    ],
)
@pytest.mark.parametrize("cin, cout", [(True, True), (True, False), (False, True)])
def test_fast_line_equals_json_dumps(event, cin, cout):
    from smkit.backends.local.capture import capture_line

    kw = {
        "capture_input": cin,
        "capture_output": cout,
        "csv_types": ("text/csv",),
        "json_types": ("application/json",),
    }
    rec = capture_record(event, event_id="e-1", **kw)
    expected = json.dumps(rec, separators=(",", ":"))
    assert capture_line(event, "e-1", rec["eventMetadata"]["inferenceTime"], **kw) == expected


def test_flush_returns_only_after_the_recovered_counts_are_reported():
    """A flush that ends a disk-full episode returns after the writer has reported the new
    counts (the endpoint's CaptureStats), not as soon as the held list empties."""
    import time

    from smkit.backends.local.capture import CaptureWriter

    class FlakyStore:
        def __init__(self) -> None:
            self.full = True
            self.objects: dict[str, bytes] = {}

        def put_bytes(self, uri: str, data: bytes, content_type: str | None = None) -> None:
            if self.full:
                raise OSError(28, "No space left on device")
            self.objects[uri] = data

    reported: list[dict] = []

    def on_stats(stats: dict) -> None:
        time.sleep(0.3)  # a slow catalog write: the race the old flush lost
        reported.append(stats)

    store = FlakyStore()
    writer = CaptureWriter(
        store, "s3://b/capture/ep/AllTraffic", on_stats=on_stats, retry_delay=0.0
    )
    try:
        for _ in range(3):
            writer.submit((time.time(), b"1,2", "text/csv", b"0.5", "text/csv", None))
        assert writer.flush(10) is False  # held: the disk is full
        store.full = False
        assert writer.flush(10) is True
        assert reported and reported[-1]["Written"] == 3 and reported[-1]["Held"] == 0
    finally:
        writer.close()
