"""Helpers for the monitoring tests: endpoint records and capture files, FORMATS.md §1."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

CAPTURE_DEST = "s3://smkit/capture"


def register_endpoint(backend: Any, name: str = "ep", *, capture: bool = True) -> None:
    """Create a local endpoint record shaped as serving writes it."""
    backend.catalog.create(
        "endpoint",
        name,
        {
            "EndpointName": name,
            "EndpointArn": f"arn:aws:sagemaker:local:000000000000:endpoint/{name}",
            "EndpointConfigName": name,
            "EndpointStatus": "InService",
            "CreationTime": datetime.now(UTC).isoformat(),
            "ProductionVariants": [{"VariantName": "AllTraffic"}],
            "DataCaptureConfig": {
                "EnableCapture": capture,
                "CaptureStatus": "Started" if capture else "Stopped",
                "CurrentSamplingPercentage": 100,
                "DestinationS3Uri": CAPTURE_DEST,
            },
            "VariantName": "AllTraffic",
            "ModelName": name,
            "Framework": "xgboost",
        },
        status="InService",
    )


def capture_line(
    features: list[Any],
    output: Any,
    when: datetime,
    *,
    event_id: str | None = None,
    inference_id: str | None = None,
) -> str:
    meta = {
        "eventId": event_id or str(uuid.uuid4()),
        "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if inference_id:
        meta["inferenceId"] = inference_id
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "mode": "INPUT",
                    "data": ",".join(map(str, features)) + "\n",
                    "encoding": "CSV",
                },
                "endpointOutput": {
                    "observedContentType": "text/csv; charset=utf-8",
                    "mode": "OUTPUT",
                    "data": str(output),
                    "encoding": "CSV",
                },
            },
            "eventMetadata": meta,
            "eventVersion": "0",
        }
    )


def write_capture(backend: Any, lines: list[str], when: datetime, endpoint: str = "ep") -> str:
    key_time = when.strftime("%Y/%m/%d/%H")
    name = f"{when:%M-%S}-{when.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
    uri = f"{CAPTURE_DEST}/{endpoint}/AllTraffic/{key_time}/{name}"
    backend.store.put_bytes(uri, ("\n".join(lines) + "\n").encode())
    return uri


def past(minutes: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes)
