"""How the SageMaker Runtime API reports a container's error answer (InvokeEndpoint).

The container (the local endpoint server) answers a model error itself, usually 500. The
Runtime API in front of it answers 424 ``ModelError`` with the container's status as
``OriginalStatusCode``, its body as ``OriginalMessage`` and the endpoint's log stream as
``LogStreamArn``. Both the local gateway and the local predictor transport (which play the
Runtime API) use `model_error_body`.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["ACCOUNT", "REGION", "log_stream_arn", "model_error_body"]

ACCOUNT = "000000000000"
REGION = "us-east-1"


def log_stream_arn(endpoint: str) -> str:
    """The ARN of the endpoint's log group, as ``ModelError`` reports it."""
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{endpoint}"


def original_message(body: bytes) -> str:
    """The container's error text (the ``message`` of a JSON error body, else the text)."""
    text = body.decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError:
        return text
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        return doc["message"]
    return text


def model_error_body(endpoint: str, status: int, body: bytes) -> dict[str, Any]:
    """The Runtime API's 424 ``ModelError`` body for a container answer ``status``."""
    original = original_message(body)
    kind = "client" if 400 <= status < 500 else "server"
    message = (
        f'Received {kind} error ({status}) from primary with message "{original}". See '
        f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#logEventViewer:"
        f"group=/aws/sagemaker/Endpoints/{endpoint} in account {ACCOUNT} for more information."
    )
    return {
        "__type": "ModelError",
        "code": "ModelError",
        "message": message,
        "Message": message,
        "OriginalStatusCode": status,
        "OriginalMessage": original,
        "LogStreamArn": log_stream_arn(endpoint),
    }
