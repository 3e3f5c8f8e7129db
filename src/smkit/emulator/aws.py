"""The emulator's own calls to the moto part: S3 objects in and out of the local store, logs.

The local engines read and write their object store (``<root>/local/s3``); the emulated S3 is
moto's. `MotoBridge` copies what a job or an endpoint needs from moto into the local
store (under the same ``s3://`` URI) and what they produce back to moto, and writes log lines
to moto's CloudWatch Logs.
"""

from __future__ import annotations

import io
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

from smkit import uri as s3uri

__all__ = ["MotoBridge"]


class MotoBridge:
    """boto3 clients on the moto server, and the copies between it and a local store.

    Args:
        moto_url: The moto server's base URL.
        store: The local engines' `smkit.backends.local.store.LocalStore`.
    """

    def __init__(self, moto_url: str, store: Any) -> None:
        self.moto_url = moto_url
        self.store = store
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        """A boto3 client of ``service`` on moto (fake credentials, us-east-1)."""
        with self._lock:
            if service not in self._clients:
                import boto3
                from botocore.config import Config

                self._clients[service] = boto3.session.Session().client(
                    service,
                    endpoint_url=self.moto_url,
                    region_name="us-east-1",
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                    config=Config(retries={"max_attempts": 2}, s3={"addressing_style": "path"}),
                )
            return self._clients[service]

    # -- S3 --------------------------------------------------------------------------------
    def keys(self, uri: str) -> list[str]:
        """Keys in moto's S3 that start with the key of ``uri`` (S3Prefix semantics)."""
        bucket, prefix = s3uri.parse(uri)
        s3 = self.client("s3")
        out: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out += [obj["Key"] for obj in page.get("Contents", [])]
        return out

    def pull(self, uri: str) -> int:
        """Copy the object(s) at ``uri`` (an object or a prefix) from moto into the local store.

        Returns:
            How many objects were copied.
        """
        bucket, _ = s3uri.parse(uri)
        s3 = self.client("s3")
        keys = self.keys(uri)
        for key in keys:
            if key.endswith("/"):
                continue  # a "folder" marker
            data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            self.store.put_bytes(s3uri.to_uri(bucket, key), data)
        return len(keys)

    def get_bytes(self, uri: str) -> bytes:
        """One object's bytes from moto."""
        bucket, key = s3uri.parse(uri)
        return bytes(self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())

    def pull_tar(self, uri: str, dest: Path) -> Path:
        """Download a ``.tar.gz`` from moto and extract it (safely) into ``dest``."""
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(self.get_bytes(uri)), mode="r:*") as tar:
            tar.extractall(dest, filter="data")
        return dest

    def push(self, uri: str) -> None:
        """Copy the local store's object at ``uri`` to moto (same bucket and key)."""
        bucket, key = s3uri.parse(uri)
        with open(self.store.path_for(uri), "rb") as fh:
            self.client("s3").put_object(Bucket=bucket, Key=key, Body=fh.read())

    # -- CloudWatch Logs ---------------------------------------------------------------------
    def log_stream(self, group: str, stream: str) -> None:
        """Create the log group (if missing) and the stream."""
        logs = self.client("logs")
        try:
            logs.create_log_group(logGroupName=group)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        try:
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass

    def put_logs(self, group: str, stream: str, lines: list[str]) -> None:
        """Append ``lines`` to the stream (one event each, timestamped now)."""
        if not lines:
            return
        now = int(time.time() * 1000)
        logs = self.client("logs")
        for start in range(0, len(lines), 5000):
            events = [{"timestamp": now, "message": ln} for ln in lines[start : start + 5000]]
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
