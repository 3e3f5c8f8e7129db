"""The ``classify`` and ``filterInferences`` Lambda handlers of the ``image-workflow`` use case.

This module imports only the standard library at top level, so it is packaged alone
(``LambdaSpec(..., standalone=True)``) and runs on AWS Lambda (``boto3`` is in the Lambda
runtime); the first step, ``serializeImageData``, is
`smkit.workflow.handlers.serialize_image_data`.

* `classify`: send ``body.image_data`` (base64 PNG) to the SageMaker endpoint
  ``ENDPOINT_NAME`` and put the class probabilities into ``body.inferences``. The endpoint
  may answer with a plain list of probabilities (the seed's format) or with a JSON object
  holding ``probabilities`` (the use case's ``inference.py``).
* `filter_inferences`: the seed's filter step: the best probability becomes
  ``body.confidence``, its class ``body.label`` (class names from ``CLASSES``) and
  ``body.meets_threshold`` says whether it reaches ``THRESHOLD``. It does not fail the
  execution itself: the state machine's ``confidence_filter`` Choice does, with
  ``ConfidenceBelowThreshold`` / "confidence below threshold".

Examples:
    >>> out = filter_inferences({"body": {"inferences": [0.1, 0.85, 0.05]}}, None)
    >>> out["body"]["confidence"], out["body"]["label_index"]
    (0.85, 1)
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from typing import Any

__all__ = ["classify", "filter_inferences", "make_classify", "probabilities_of"]


def probabilities_of(result: Any) -> list[float]:
    """The class probabilities in an endpoint answer (a list, or a dict holding
    ``probabilities`` / ``inferences`` / ``predictions``; JSON text is parsed first)."""
    if isinstance(result, bytes | bytearray):
        result = result.decode("utf-8")
    if isinstance(result, str):
        result = json.loads(result)
    if isinstance(result, dict):
        for key in ("probabilities", "inferences", "predictions", "scores"):
            if key in result:
                result = result[key]
                break
        else:
            raise ValueError(
                f"the endpoint answer has no probabilities (keys: {sorted(result)}); expected a "
                "list or an object with 'probabilities'"
            )
    if isinstance(result, list) and len(result) == 1 and isinstance(result[0], list | dict):
        return probabilities_of(result[0])
    if not isinstance(result, list) or not all(isinstance(x, int | float) for x in result):
        raise ValueError(f"the endpoint answer {result!r} is not a list of probabilities")
    return [float(x) for x in result]


def _boto3_predict(endpoint: str, data: bytes, content_type: str) -> Any:
    import boto3

    response = boto3.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint, ContentType=content_type, Accept="application/json", Body=data
    )
    return response["Body"].read()


def make_classify(
    predict: Callable[[str, bytes, str], Any] | None = None,
    *,
    content_type: str = "image/png",
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """A classify handler calling ``predict(endpoint_name, image_bytes, content_type)``.

    The default ``predict`` is SageMaker Runtime's ``InvokeEndpoint`` (boto3); the local run
    passes one that uses the session's predictor.
    """
    do_predict = predict or _boto3_predict

    def classify(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        body = dict(event.get("body", event))
        if "image_data" not in body:
            raise KeyError("the event has no 'image_data' (run serializeImageData first)")
        endpoint = body.get("endpoint_name") or os.environ.get("ENDPOINT_NAME")
        if not endpoint:
            raise ValueError("no endpoint: set ENDPOINT_NAME or pass 'endpoint_name' in the body")
        image = base64.b64decode(body["image_data"])
        body["inferences"] = probabilities_of(do_predict(str(endpoint), image, content_type))
        return {"statusCode": 200, "body": body}

    classify.__name__ = "classify"
    classify.__qualname__ = "classify"
    return classify


def classify(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Send ``body.image_data`` to the endpoint ``ENDPOINT_NAME`` and add ``inferences``."""
    return make_classify()(event, context)


def filter_inferences(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Add ``confidence`` (best probability), ``label_index``, ``label`` (from the
    comma-separated ``CLASSES``), ``threshold`` (``THRESHOLD``, default 0.9) and
    ``meets_threshold`` to the body; drop the image bytes (the result stays small)."""
    body = dict(event.get("body", event))
    inferences = [float(x) for x in body.get("inferences") or []]
    if not inferences:
        raise ValueError("the event has no 'inferences' (run classify first)")
    best = max(range(len(inferences)), key=inferences.__getitem__)
    classes = [c for c in os.environ.get("CLASSES", "").split(",") if c]
    threshold = float(body.get("threshold", os.environ.get("THRESHOLD", "0.9")))
    body.pop("image_data", None)
    body.update(
        confidence=inferences[best],
        label_index=best,
        label=classes[best] if best < len(classes) else str(best),
        threshold=threshold,
        meets_threshold=inferences[best] >= threshold,
    )
    return {"statusCode": 200, "body": body}
