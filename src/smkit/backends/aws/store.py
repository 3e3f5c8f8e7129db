"""Amazon S3 as an smkit object store.

Every object smkit writes carries its SHA-256 twice: as S3's own additional checksum
(``ChecksumSHA256``, verified by S3 on receipt) and as user metadata ``sha256`` (hex), which
``head`` reads back so an unchanged file is not uploaded again. Files of 8 MiB or more go up
as a multipart upload that is aborted on any failure, so no partial object is ever left.
"""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from smkit import uri as s3uri
from smkit.backends._protocol import ObjectInfo, iter_chunks, sha256_file
from smkit.backends.aws.client import Requester
from smkit.errors import ResourceNotFoundError, SourceNotFoundError

__all__ = ["MULTIPART_THRESHOLD", "S3Store", "tls_only_policy"]

MULTIPART_THRESHOLD = 8 << 20
PART_SIZE = 8 << 20


def tls_only_policy(bucket: str) -> str:
    """A bucket policy (JSON text) denying every request to ``bucket`` made without TLS."""
    import json

    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


class S3Store:
    """Objects in Amazon S3, through a `Requester` (validated, plannable)."""

    def __init__(self, requester: Requester) -> None:
        self.requester = requester

    def _call(self, operation: str, params: dict[str, Any], uri: str) -> dict[str, Any]:
        return self.requester.call("s3", operation, params, resource=uri)

    def put_bytes(self, uri: str, data: bytes, *, content_type: str | None = None) -> ObjectInfo:
        """PutObject with a SHA-256 checksum S3 verifies."""
        bucket, key = s3uri.parse(uri)
        s3uri.check_key(key)
        digest = hashlib.sha256(data)
        params: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "Body": data,
            "ChecksumSHA256": _b64(digest.digest()),
            "Metadata": {"sha256": digest.hexdigest()},
        }
        if content_type:
            params["ContentType"] = content_type
        self._call("PutObject", params, uri)
        return ObjectInfo(uri=uri, size=len(data), sha256=digest.hexdigest())

    def put_file(
        self,
        uri: str,
        path: str | Path,
        *,
        content_type: str | None = None,
        progress: bool = False,
    ) -> tuple[ObjectInfo, bool]:
        """Upload a file unless S3 already holds the same bytes; multipart above 8 MiB."""
        src = Path(path)
        if not src.is_file():
            raise SourceNotFoundError(f"no such file: {str(src)!r}", path=str(src))
        size = src.stat().st_size
        digest = sha256_file(src)
        existing = self.head(uri)
        if existing is not None and existing.sha256 == digest:
            return existing, False
        if size < MULTIPART_THRESHOLD:
            info = self.put_bytes(uri, src.read_bytes(), content_type=content_type)
            return info, True
        self._multipart(uri, src, size, digest, content_type, progress)
        return ObjectInfo(uri=uri, size=size, sha256=digest), True

    def _multipart(
        self,
        uri: str,
        src: Path,
        size: int,
        digest: str,
        content_type: str | None,
        progress: bool,
    ) -> None:
        bucket, key = s3uri.parse(uri)
        s3uri.check_key(key)
        create: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "Metadata": {"sha256": digest},
            "ChecksumAlgorithm": "SHA256",
        }
        if content_type:
            create["ContentType"] = content_type
        upload_id = self._call("CreateMultipartUpload", create, uri).get("UploadId", "planned")
        parts = []
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=size, unit="B", unit_scale=True, desc=uri, leave=False)
        try:
            with open(src, "rb") as fh:
                for number, chunk in enumerate(iter_chunks(fh, PART_SIZE), start=1):
                    checksum = _b64(hashlib.sha256(chunk).digest())
                    resp = self._call(
                        "UploadPart",
                        {
                            "Bucket": bucket,
                            "Key": key,
                            "UploadId": upload_id,
                            "PartNumber": number,
                            "Body": chunk,
                            "ChecksumSHA256": checksum,
                        },
                        uri,
                    )
                    parts.append(
                        {
                            "PartNumber": number,
                            "ETag": resp.get("ETag", "planned"),
                            "ChecksumSHA256": checksum,
                        }
                    )
                    if bar is not None:
                        bar.update(len(chunk))
            self._call(
                "CompleteMultipartUpload",
                {
                    "Bucket": bucket,
                    "Key": key,
                    "UploadId": upload_id,
                    "MultipartUpload": {"Parts": parts},
                },
                uri,
            )
        except BaseException:
            if not self.requester.plan:
                try:
                    self._call(
                        "AbortMultipartUpload",
                        {"Bucket": bucket, "Key": key, "UploadId": upload_id},
                        uri,
                    )
                except Exception:
                    pass
            raise
        finally:
            if bar is not None:
                bar.close()

    def get_bytes(self, uri: str) -> bytes:
        """GetObject's body."""
        bucket, key = s3uri.parse(uri)
        resp = self._call("GetObject", {"Bucket": bucket, "Key": key}, uri)
        if self.requester.plan:
            raise ResourceNotFoundError(f"plan mode cannot read {uri!r}", uri=uri)
        return resp["Body"].read()

    def get_file(self, uri: str, path: str | Path) -> Path:
        """Download to ``path`` through a temporary file renamed into place."""
        dest = Path(path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".smkit-tmp-{os.getpid()}-{dest.name}")
        try:
            tmp.write_bytes(self.get_bytes(uri))
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest

    def head(self, uri: str) -> ObjectInfo | None:
        """HeadObject; ``None`` for a missing object (and always in plan mode)."""
        bucket, key = s3uri.parse(uri)
        try:
            resp = self._call("HeadObject", {"Bucket": bucket, "Key": key}, uri)
        except ResourceNotFoundError:
            return None
        if self.requester.plan:
            return None
        modified = resp.get("LastModified")
        return ObjectInfo(
            uri=uri,
            size=int(resp.get("ContentLength", 0)),
            sha256=(resp.get("Metadata") or {}).get("sha256"),
            last_modified=modified if isinstance(modified, datetime) else None,
        )

    def list(self, prefix: str) -> list[ObjectInfo]:
        """ListObjectsV2 over every page."""
        bucket, key_prefix = s3uri.parse(prefix)
        out: list[ObjectInfo] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"Bucket": bucket, "Prefix": key_prefix}
            if token:
                params["ContinuationToken"] = token
            resp = self._call("ListObjectsV2", params, prefix)
            for obj in resp.get("Contents", []):
                out.append(
                    ObjectInfo(
                        uri=s3uri.to_uri(bucket, obj["Key"]),
                        size=obj["Size"],
                        last_modified=obj.get("LastModified"),
                    )
                )
            if not resp.get("IsTruncated"):
                break
            token = resp.get("NextContinuationToken")
        out.sort(key=lambda o: o.uri)
        return out

    def delete(self, uri: str) -> None:
        """DeleteObject (no error when absent)."""
        bucket, key = s3uri.parse(uri)
        self._call("DeleteObject", {"Bucket": bucket, "Key": key}, uri)

    def ensure_bucket(self, bucket: str) -> None:
        """Create ``bucket`` if it does not exist: public access blocked, default encryption on,
        and a bucket policy that denies any request not made over TLS (not applied when the
        endpoint override is plain ``http://``, which such a policy would lock out)."""
        try:
            self._call("HeadBucket", {"Bucket": bucket}, bucket)
            if not self.requester.plan:
                return
        except ResourceNotFoundError:
            pass
        params: dict[str, Any] = {"Bucket": bucket}
        region = self.requester.region
        if region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        self._call("CreateBucket", params, bucket)
        self._call(
            "PutPublicAccessBlock",
            {
                "Bucket": bucket,
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            },
            bucket,
        )
        self._call(
            "PutBucketEncryption",
            {
                "Bucket": bucket,
                "ServerSideEncryptionConfiguration": {
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
            },
            bucket,
        )
        if not (self.requester.endpoint_url or "").startswith("http://"):
            # a plain-http endpoint (moto, LocalStack) could not be reached under this policy
            self._call(
                "PutBucketPolicy", {"Bucket": bucket, "Policy": tls_only_policy(bucket)}, bucket
            )
