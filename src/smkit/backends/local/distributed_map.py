"""Distributed Map pieces run against the local object store: ItemReader and ResultWriter.

Follows the Step Functions developer guide, "Distributed Map state":

* ``ItemReader`` with ``arn:aws:states:::s3:listObjectsV2`` gives one item per object under
  ``Bucket``/``Prefix`` (``Key``, ``Size``, ``Etag``, ``LastModified``, ``StorageClass``);
  with ``arn:aws:states:::s3:getObject`` it reads one object as ``ReaderConfig.InputType``
  ``JSON`` (an array), ``JSONL`` (one value a line) or ``CSV`` (one object per row, values as
  strings, headers from the first row or ``CSVHeaders``); ``MaxItems`` caps the count;
* ``ItemBatcher`` groups items: each child gets ``{"Items": [...], "BatchInput": ...}``;
* ``ResultWriter`` (``arn:aws:states:::s3:putObject``) writes ``SUCCEEDED_0.json``,
  ``FAILED_0.json``, ``PENDING_0.json`` and ``manifest.json`` under
  ``Prefix/<map run id>/`` and the Map's result is ``{"MapRunArn", "ResultWriterDetails"}``.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from smkit.workflow.query import StatesError

__all__ = ["ResultSpool", "batches", "read_items", "write_results"]

LIST_OBJECTS = "arn:aws:states:::s3:listObjectsV2"
GET_OBJECT = "arn:aws:states:::s3:getObject"
PUT_OBJECT = "arn:aws:states:::s3:putObject"


def _reader_error(message: str) -> StatesError:
    return StatesError("States.ItemReaderFailed", message)


def read_items(reader: dict[str, Any], params: Any, store: Any) -> list[Any]:
    """The items an ``ItemReader`` gives (``params``: its evaluated Parameters/Arguments)."""
    if store is None:
        raise _reader_error("no object store is configured for the local executor")
    if not isinstance(params, dict) or not isinstance(params.get("Bucket"), str):
        raise _reader_error("the ItemReader needs Parameters.Bucket")
    bucket = params["Bucket"]
    resource = reader.get("Resource")
    config = reader.get("ReaderConfig") or {}
    max_items = config.get("MaxItems")
    if resource == LIST_OBJECTS:
        prefix = str(params.get("Prefix", ""))
        items: list[Any] = []
        for info in store.list(f"s3://{bucket}/{prefix}"):
            key = info.uri.split("/", 3)[3]
            items.append(
                {
                    "Etag": f'"{info.sha256 or ""}"',
                    "Key": key,
                    "LastModified": info.last_modified.isoformat() if info.last_modified else None,
                    "Size": info.size,
                    "StorageClass": "STANDARD",
                }
            )
    elif resource == GET_OBJECT:
        key = params.get("Key")
        if not isinstance(key, str):
            raise _reader_error("the ItemReader needs Parameters.Key")
        try:
            data = store.get_bytes(f"s3://{bucket}/{key}")
        except Exception as exc:
            raise _reader_error(f"cannot read s3://{bucket}/{key}: {exc}") from None
        items = _parse(data.decode("utf-8-sig"), config, f"s3://{bucket}/{key}")
    else:
        raise _reader_error(f"ItemReader Resource {resource!r} is not supported")
    if max_items is not None:
        items = items[: int(max_items)]
    return items


def _parse(text: str, config: dict[str, Any], where: str) -> list[Any]:
    kind = config.get("InputType", "JSON")
    if kind == "JSON":
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise _reader_error(f"{where} is not JSON: {exc}") from None
        if not isinstance(value, list):
            raise _reader_error(f"{where}: a JSON item source must be an array")
        return value
    if kind == "JSONL":
        out = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as exc:
                    raise _reader_error(f"{where} line {number} is not JSON: {exc}") from None
        return out
    if kind == "CSV":
        rows = csv.reader(io.StringIO(text, newline=""))
        if config.get("CSVHeaderLocation", "FIRST_ROW") == "GIVEN":
            headers = list(config.get("CSVHeaders") or [])
            if not headers:
                raise _reader_error("CSVHeaderLocation GIVEN needs CSVHeaders")
        else:
            headers = next(rows, [])
        out = []
        for row in rows:
            if not row:
                continue
            if len(row) > len(headers):
                raise _reader_error(f"{where}: a row has more fields than there are headers")
            out.append({h: (row[i] if i < len(row) else "") for i, h in enumerate(headers)})
        return out
    raise _reader_error(f"ReaderConfig InputType {kind!r} is not supported here")


def batches(items: list[Any], batcher: dict[str, Any], batch_input: Any) -> list[Any]:
    """Group ``items`` as ``ItemBatcher`` says: ``{"Items": [...], "BatchInput": ...}``."""
    most = batcher.get("MaxItemsPerBatch")
    max_bytes = batcher.get("MaxInputBytesPerBatch")
    if most is None and max_bytes is None:
        raise StatesError(
            "States.Runtime", "ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch"
        )
    out: list[Any] = []
    current: list[Any] = []
    size = 0
    for item in items:
        item_size = len(json.dumps(item, separators=(",", ":")))
        full = (most is not None and len(current) >= int(most)) or (
            max_bytes is not None and current and size + item_size > int(max_bytes)
        )
        if full:
            out.append(current)
            current, size = [], 0
        current.append(item)
        size += item_size
    if current:
        out.append(current)
    wrap = []
    for group in out:
        value: dict[str, Any] = {"Items": group}
        if batch_input is not None:
            value["BatchInput"] = batch_input
        wrap.append(value)
    return wrap


class ResultSpool:
    """Child execution records on disk, one JSON array file per status, so that memory does
    not grow with the number of children; `write_results` uploads them."""

    STATUSES = ("FAILED", "PENDING", "SUCCEEDED")

    def __init__(self) -> None:
        import tempfile
        import threading

        self._dir = tempfile.TemporaryDirectory(prefix="smkit-map-run-")
        self._files: dict[str, Any] = {}
        self._lock = threading.Lock()

    def add(self, record: dict[str, Any]) -> None:
        """Append one child's record (``Status`` picks the file)."""
        text = json.dumps(record, separators=(",", ":"))
        status = record["Status"]
        with self._lock:
            fh = self._files.get(status)
            if fh is None:
                fh = self._files[status] = open(  # noqa: SIM115 - closed in paths()
                    f"{self._dir.name}/{status}_0.json", "w", encoding="utf-8"
                )
                fh.write("[")
            else:
                fh.write(",")
            fh.write(text)

    def paths(self) -> dict[str, str]:
        """Close the files; status -> path of its JSON array."""
        out = {}
        for status, fh in self._files.items():
            fh.write("]")
            fh.close()
            out[status] = fh.name
        return out

    def close(self) -> None:
        """Remove the files."""
        for fh in self._files.values():
            if not fh.closed:
                fh.close()
        self._dir.cleanup()


def write_results(
    writer: dict[str, Any],
    params: Any,
    store: Any,
    map_run_arn: str,
    spool: ResultSpool,
) -> dict[str, Any]:
    """Write the child executions' results as ``ResultWriter`` does; returns the Map's result."""
    from pathlib import Path

    if writer.get("Resource") != PUT_OBJECT:
        raise StatesError(
            "States.ResultWriterFailed", f"ResultWriter Resource {writer.get('Resource')!r}"
        )
    if store is None or not isinstance(params, dict) or "Bucket" not in params:
        raise StatesError("States.ResultWriterFailed", "ResultWriter needs Parameters.Bucket")
    bucket = params["Bucket"]
    prefix = str(params.get("Prefix", "")).strip("/")
    run_id = map_run_arn.rsplit(":", 1)[-1]
    base = f"{prefix}/{run_id}" if prefix else run_id
    files: dict[str, list[dict[str, Any]]] = {s: [] for s in ResultSpool.STATUSES}
    for status, path in sorted(spool.paths().items()):
        key = f"{base}/{status}_0.json"
        try:
            store.put_file(f"s3://{bucket}/{key}", path, content_type="application/json")
        except Exception as exc:
            raise StatesError("States.ResultWriterFailed", f"cannot write {key}: {exc}") from None
        files[status].append({"Key": key, "Size": Path(path).stat().st_size})
    manifest = {"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": files}
    key = f"{base}/manifest.json"
    store.put_bytes(
        f"s3://{bucket}/{key}", json.dumps(manifest).encode(), content_type="application/json"
    )
    return {"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": key}}
