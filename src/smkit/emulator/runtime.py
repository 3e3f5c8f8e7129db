"""The SageMaker Runtime (REST JSON: ``POST /endpoints/{EndpointName}/invocations``).

The emulator's server hands these requests to smkit's local gateway app
(`smkit.backends.local.gateway.GatewayApp`) in its own process, which forwards them
to the endpoint's server and maps errors as the Runtime API does. This module only records
the operation in the emulator's table.
"""

from __future__ import annotations

from typing import Any

from smkit.emulator.operations import operation

__all__ = ["invoke_endpoint"]


@operation("sagemaker-runtime", "InvokeEndpoint")
def invoke_endpoint(*_: Any) -> None:
    """Forwards to the local endpoint; 424 ModelError with OriginalStatusCode for a model
    error, 400 ValidationError for an unknown endpoint."""
    raise NotImplementedError("served by smkit.backends.local.gateway.GatewayApp")
