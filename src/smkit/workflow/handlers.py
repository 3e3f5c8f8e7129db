"""Reusable Lambda handlers of the image-classification workflow (self-contained module).

This module imports only the standard library at top level, so it can be packaged alone
(``LambdaSpec(..., standalone=True)``) and run on AWS Lambda, where it uses boto3; run
locally it uses smkit's local backend (the object store and the endpoint's predictor).

* `serialize_image_data`: read an image from S3, return it base64-encoded.
* `classify`: send the image to a SageMaker endpoint, return its inferences.

The event and result shapes are the seed project's:

    serialize_image_data({"s3_bucket": "b", "s3_key": "test/img.png"})
      -> {"statusCode": 200, "body": {"image_data": "<base64>", "s3_bucket": "b",
                                      "s3_key": "test/img.png", "inferences": []}}
    classify({"body": {...as above...}})
      -> {"statusCode": 200, "body": {..., "inferences": [0.93, 0.07], "confidence": 0.93}}
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from typing import Any

__all__ = ["classify", "make_classify", "on_aws_lambda", "serialize_image_data"]


def on_aws_lambda() -> bool:
    """Whether this code runs inside AWS Lambda (rather than smkit's local runtime)."""
    return "AWS_LAMBDA_FUNCTION_NAME" in os.environ and "SMKIT_LOCAL_LAMBDA" not in os.environ


def _bucket_key(event: dict[str, Any]) -> tuple[str, str]:
    if "s3_uri" in event:
        uri = str(event["s3_uri"])
        if not uri.startswith("s3://") or "/" not in uri[5:]:
            raise ValueError(f"s3_uri {uri!r} is not s3://bucket/key")
        bucket, _, key = uri[5:].partition("/")
        return bucket, key
    try:
        return str(event["s3_bucket"]), str(event["s3_key"])
    except KeyError as exc:
        raise KeyError(
            f"the event needs 's3_bucket' and 's3_key' (or 's3_uri'); it has {sorted(event)}"
        ) from exc


def _read_object(bucket: str, key: str) -> bytes:
    if on_aws_lambda():
        import boto3

        return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    import smkit

    with smkit.Session("local") as session:
        return session.store.get_bytes(f"s3://{bucket}/{key}")


def serialize_image_data(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Read the image at ``s3_bucket``/``s3_key`` (or ``s3_uri``) and base64 it."""
    bucket, key = _bucket_key(event)
    image = _read_object(bucket, key)
    return {
        "statusCode": 200,
        "body": {
            "image_data": base64.b64encode(image).decode("ascii"),
            "s3_bucket": bucket,
            "s3_key": key,
            "inferences": [],
        },
    }


def _endpoint_name(event: dict[str, Any], body: dict[str, Any]) -> str:
    name = (
        body.get("endpoint_name") or event.get("endpoint_name") or os.environ.get("ENDPOINT_NAME")
    )
    if not name:
        raise ValueError("no endpoint: set ENDPOINT_NAME or pass 'endpoint_name' in the event")
    return str(name)


def _default_predict(endpoint: str, data: bytes, content_type: str) -> Any:
    if on_aws_lambda():
        import boto3

        response = boto3.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=endpoint, ContentType=content_type, Body=data
        )
        return json.loads(response["Body"].read().decode("utf-8"))
    import smkit

    predictor = smkit.Session("local").predictor(
        endpoint, serializer=_RawSerializer(content_type), deserializer="json"
    )
    return predictor.predict(data)


class _RawSerializer:
    """Sends bytes as they are, under the given content type (an image, say)."""

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type

    def serialize(self, data: Any) -> bytes:
        return data if isinstance(data, bytes) else str(data).encode("utf-8")


_ANSWER_KEYS = ("probabilities", "predictions", "scores", "inferences")


def _inferences(result: Any) -> list[float]:
    """Class scores from an endpoint's answer: a list, ``[[...]]``, or a dict holding one of
    ``probabilities`` / ``predictions`` / ``scores`` / ``inferences``."""
    if isinstance(result, bytes | str):
        result = json.loads(result)
    if isinstance(result, dict):
        key = next((k for k in _ANSWER_KEYS if k in result), None)
        if key is None:
            raise ValueError(
                f"the endpoint's answer has none of {', '.join(_ANSWER_KEYS)}: "
                f"keys {sorted(result)}"
            )
        result = result[key]
    if isinstance(result, list) and len(result) == 1 and isinstance(result[0], list):
        result = result[0]
    return [float(x) for x in (result if isinstance(result, list) else [result])]


def make_classify(
    predict: Callable[[str, bytes, str], Any] | None = None,
    *,
    content_type: str = "image/png",
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """A classify handler that calls ``predict(endpoint_name, image_bytes, content_type)``.

    The default ``predict`` uses ``boto3``'s ``invoke_endpoint`` on AWS Lambda and
    ``smkit.Session().predictor(endpoint)`` locally; tests pass a fake.
    """
    do_predict = predict or _default_predict

    def classify(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        body = dict(event.get("body", event))
        if "image_data" not in body:
            raise KeyError("the event has no 'image_data' (run serialize_image_data first)")
        image = base64.b64decode(body["image_data"])
        result = do_predict(_endpoint_name(event, body), image, content_type)
        inferences = _inferences(result)
        body["inferences"] = inferences
        body["confidence"] = max(inferences) if inferences else 0.0
        return {"statusCode": 200, "body": body}

    classify.__name__ = "classify"
    classify.__qualname__ = "classify"
    return classify


def classify(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Send ``body.image_data`` to the endpoint (``ENDPOINT_NAME`` or ``endpoint_name`` in
    the event) and add its ``inferences`` and their maximum, ``confidence``."""
    return make_classify()(event, context)
