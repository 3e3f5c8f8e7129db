"""The seed project's workflow as reusable pieces.

``serialize image data >> classify >> confidence filter``: the first two are Lambda tasks
(`smkit.workflow.handlers`), the filter is a ready Choice + Fail that stops the
execution with ``ConfidenceBelowThreshold`` / "confidence below threshold" when the best
inference is under the threshold.

Examples:
    >>> from smkit.workflow import image_classification_workflow
    >>> wf = image_classification_workflow("images", endpoint_name="img-clf", threshold=0.9)
    >>> list(wf.states)[:3]
    ['SerializeImageData', 'Classify', 'ConfidenceCheck']
"""

from __future__ import annotations

from typing import Any

from smkit.errors import ValidationError
from smkit.workflow.lambda_spec import LambdaSpec
from smkit.workflow.machine import Workflow
from smkit.workflow.states import Chain, Choice, Condition, Fail, Succeed, Task, Var, When

__all__ = [
    "CONFIDENCE_ERROR",
    "classify_spec",
    "confidence_filter",
    "image_classification_workflow",
    "serialize_image_data_spec",
]

#: The error name the confidence filter fails with.
CONFIDENCE_ERROR = "ConfidenceBelowThreshold"


def confidence_filter(
    threshold: float,
    *,
    variable: str = "$.body.confidence",
    name: str = "ConfidenceCheck",
    query_language: str = "JSONPath",
) -> Chain:
    """A Choice that lets the execution continue when ``variable >= threshold`` and a Fail
    (``ConfidenceBelowThreshold``, cause "confidence below threshold <t>") otherwise.

    Args:
        threshold: The lowest acceptable confidence, in [0, 1].
        variable: JSONPath of the confidence in the state input (the classify handler puts
            the best inference at ``$.body.confidence``).
        name: Name of the Choice state (the Fail is ``ConfidenceBelowThreshold``).
        query_language: ``"JSONata"`` builds the condition as ``$max(...inferences) >= t``.

    Returns:
        A chain: chain it after the classify step; what follows it runs on success.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise ValidationError(f"confidence_filter threshold must be a number, got {threshold!r}")
    if not 0 <= threshold <= 1:
        raise ValidationError(f"confidence_filter threshold must be in [0, 1], got {threshold}")
    fail = Fail(
        CONFIDENCE_ERROR,
        error=CONFIDENCE_ERROR,
        cause=f"confidence below threshold {threshold:g}",
        query_language=None,
    )
    if query_language == "JSONata":
        cond = Condition.jsonata(f"$max($states.input.body.inferences) >= {threshold!r}")
        choice = Choice(name, [When(cond)], default=fail, query_language="JSONata")
    else:
        choice = Choice(name, [When(Var(variable) >= threshold)], default=fail)
    return Chain([choice])


def serialize_image_data_spec(**overrides: Any) -> LambdaSpec:
    """The ``serializeImageData`` function
    (`smkit.workflow.handlers.serialize_image_data`)."""
    kwargs: dict[str, Any] = {
        "handler": "smkit.workflow.handlers:serialize_image_data",
        "name": "serializeImageData",
        "timeout": 30,
        "standalone": True,
    }
    kwargs.update(overrides)
    return LambdaSpec(**kwargs)


def classify_spec(endpoint_name: str | None = None, **overrides: Any) -> LambdaSpec:
    """The ``classify`` function (`smkit.workflow.handlers.classify`)."""
    env = {"ENDPOINT_NAME": endpoint_name} if endpoint_name else {}
    kwargs: dict[str, Any] = {
        "handler": "smkit.workflow.handlers:classify",
        "name": "classify",
        "timeout": 60,
        "environment": env,
        "standalone": True,
    }
    kwargs.update(overrides)
    return LambdaSpec(**kwargs)


def image_classification_workflow(
    name: str = "image-classification",
    *,
    endpoint_name: str | None = None,
    threshold: float = 0.9,
    retry_attempts: int = 2,
) -> Workflow:
    """The seed's state machine: serialize the image, classify it, filter on confidence.

    Both Lambda steps use ``arn:aws:states:::lambda:invoke`` (``OutputPath: $.Payload``) and
    retry Lambda service errors, as the Step Functions console generates them.
    """
    from smkit.workflow.states import Retry

    retry = [
        Retry(
            ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException"],
            interval_seconds=1,
            max_attempts=retry_attempts,
            backoff_rate=2.0,
        )
    ]
    serialize = Task.lambda_(
        "SerializeImageData",
        serialize_image_data_spec(),
        integration=True,
        output_path="$.Payload",
        retry=retry,
    )
    classify = Task.lambda_(
        "Classify",
        classify_spec(endpoint_name),
        integration=True,
        output_path="$.Payload",
        retry=retry,
    )
    chain = (
        serialize >> classify >> confidence_filter(threshold) >> Succeed("ConfidenceCheckPassed")
    )
    return Workflow(name, chain, comment="Serialize an image, classify it, filter on confidence")
