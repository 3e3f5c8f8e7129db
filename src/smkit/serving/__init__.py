"""Serving: models, real-time endpoints, data capture and predictors.

Build a `ModelSpec` and an `EndpointSpec` (optionally with a
`DataCaptureSpec`), then ``session.deploy(model, spec)`` returns an `Endpoint`;
``session.predictor(name)`` returns a `Predictor`.
"""

from __future__ import annotations

from smkit.serving.endpoint import Endpoint
from smkit.serving.predictor import (
    CSVDeserializer,
    CSVSerializer,
    InvokeResult,
    JSONDeserializer,
    JSONSerializer,
    NumpyDeserializer,
    NumpySerializer,
    Predictor,
)
from smkit.serving.spec import DEFAULT_VARIANT, FRAMEWORKS, DataCaptureSpec, EndpointSpec, ModelSpec

__all__ = [
    "DEFAULT_VARIANT",
    "FRAMEWORKS",
    "CSVDeserializer",
    "CSVSerializer",
    "DataCaptureSpec",
    "Endpoint",
    "EndpointSpec",
    "InvokeResult",
    "JSONDeserializer",
    "JSONSerializer",
    "ModelSpec",
    "NumpyDeserializer",
    "NumpySerializer",
    "Predictor",
]


def as_model_spec(model: object) -> ModelSpec:
    """A `ModelSpec` from a ModelSpec or anything with a ``.model()`` method.

    Raises:
        ConfigError: ``model`` is neither.
    """
    from smkit.errors import ConfigError

    if isinstance(model, ModelSpec):
        return model
    make = getattr(model, "model", None)
    if callable(make):
        spec = make()
        if isinstance(spec, ModelSpec):
            return spec
    raise ConfigError(
        f"cannot deploy a {type(model).__name__}: expected a ModelSpec or a trained job",
        hint="pass smkit.ModelSpec(model_data=..., framework=...) or job (with .model())",
    )
