"""The engines' architecture: one capture reader, the monitor-type registry, the shims."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from smkit.errors import ConfigError
from smkit.monitoring.engines.capture import (
    CaptureRecord,
    ReadStats,
    iter_capture_records,
    iter_capture_rows,
    parse_capture_line,
    payload_text,
)
from smkit.monitoring.engines.registry import MonitorRegistry, monitor_kind

FIXTURES = Path("/work/shared/fixtures/sagemaker")


def test_capture_reader_reads_sagemakers_files():
    lines = (FIXTURES / "monitor-capture.jsonl").read_text().splitlines()
    stats = ReadStats()
    records = list(iter_capture_records(lines, stats))
    assert len(records) == len([x for x in lines if x.strip()]) and stats.skipped == 0
    first = records[0]
    assert first.event_id == "74b0dd56-e7c8-368e-94b1-14a138a96000"
    assert first.key == first.event_id  # no inferenceId: the join key is the eventId
    assert payload_text(first.input) == "9,45,45,42,7,5,0"
    rows = list(iter_capture_rows(lines[:1], ReadStats()))
    assert rows == [["0.302709460258", "9", "45", "45", "42", "7", "5", "0"]]  # output first
    json_lines = (FIXTURES / "monitor-captured-data.jsonl").read_text().splitlines()
    rows = list(iter_capture_rows(json_lines[:1], ReadStats()))
    assert rows == [["3.5", "1.0"], ["4.0", "2.0"], ["5.5", "5.0"]]  # one prediction per row


def test_capture_reader_counts_corrupt_lines_and_decodes_base64():
    good = {
        "captureData": {
            "endpointInput": {
                "data": base64.b64encode(b"1,2\n").decode(),
                "encoding": "BASE64",
                "observedContentType": "application/x-custom",
            },
            "endpointOutput": {"data": "0.5", "encoding": "CSV"},
        },
        "eventMetadata": {"eventId": "e", "inferenceId": "i"},
    }
    stats = ReadStats()
    lines = ["", "not json", "[1]", '{"captureData": 3}', json.dumps(good)]
    records = list(iter_capture_records(lines, stats))
    assert [r.key for r in records] == ["i"]  # inferenceId wins over eventId
    assert stats.to_dict() == {
        "lines": 4,
        "skipped": 3,
        "reasons": {"JSONDecodeError": 1, "ValueError": 1, "TypeError": 1},
    }
    assert list(iter_capture_rows(records, ReadStats())) == [["0.5", "1", "2"]]
    record = parse_capture_line(json.dumps(good))
    assert isinstance(record, CaptureRecord) and payload_text(record.input) == "1,2\n"


def test_every_capture_parser_goes_through_the_one_reader():
    src = Path(__file__).resolve().parents[2] / "src" / "smkit"
    parsers = [
        p.relative_to(src).as_posix()
        for p in src.rglob("*.py")
        if '["captureData"]' in p.read_text() or 'get("captureData")' in p.read_text()
    ]
    assert parsers == ["monitoring/engines/capture.py"]


def test_registry_dispatches_by_kind_and_refuses_unknown_types():
    assert monitor_kind("DataQuality") == "data_quality"
    assert monitor_kind("model_explainability") == "model_explainability"
    with pytest.raises(ConfigError, match="unknown monitor type 'Drift'"):
        monitor_kind("Drift")
    reg: MonitorRegistry = MonitorRegistry("baseline job")
    reg.register("DataQuality", len)
    assert reg.get("data_quality") is len and reg.kinds() == ["data_quality"]
    with pytest.raises(ConfigError, match="'ModelBias' .model_bias. has no baseline job"):
        reg.get("ModelBias")


def test_local_execution_of_an_unknown_type_fails_clearly_instead_of_running_clarify(tmp_path):
    from smkit.backends.local.monitoring import _EXECUTIONS

    with pytest.raises(ConfigError, match="unknown monitor type 'Bogus'"):
        _EXECUTIONS.get("Bogus")
    assert _EXECUTIONS.kinds() == ["data_quality", "model_quality", "model_explainability"]


def test_old_import_paths_are_the_engines():
    from smkit.backends.local import clarify, model_quality, monitor
    from smkit.monitoring.engines import clarify as e_clarify
    from smkit.monitoring.engines import data_quality
    from smkit.monitoring.engines import model_quality as e_mq

    assert monitor.compute_statistics is data_quality.compute_statistics
    assert clarify.explain is e_clarify.explain
    assert model_quality.merge_ground_truth is e_mq.merge_ground_truth
    assert set(monitor.__all__) == set(data_quality.__all__)
