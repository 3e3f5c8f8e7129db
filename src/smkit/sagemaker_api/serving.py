"""CreateModel, CreateEndpointConfig (with DataCaptureConfig) and CreateEndpoint requests."""

from __future__ import annotations

from typing import Any

__all__ = [
    "container",
    "create_endpoint",
    "create_endpoint_config",
    "create_model",
    "create_pipeline_model",
    "data_capture_config",
    "production_variant",
]


def container(
    image: str, model_data_url: str | None, environment: dict[str, str] | None = None
) -> dict[str, Any]:
    """One ``ContainerDefinition`` (``PrimaryContainer`` or an item of ``Containers``)."""
    out: dict[str, Any] = {"Image": image}
    if model_data_url:
        out["ModelDataUrl"] = model_data_url
    if environment:
        out["Environment"] = dict(environment)
    return out


def _isolation(vpc_config: Any = None, network_isolation: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if vpc_config is not None:
        out["VpcConfig"] = (
            vpc_config.to_request() if hasattr(vpc_config, "to_request") else vpc_config
        )
    if network_isolation:
        out["EnableNetworkIsolation"] = True
    return out


def create_model(
    name: str,
    primary_container: dict[str, Any],
    role: str,
    *,
    vpc_config: Any = None,
    network_isolation: bool = False,
) -> dict[str, Any]:
    """``CreateModel`` with one container."""
    return {
        "ModelName": name,
        "PrimaryContainer": primary_container,
        "ExecutionRoleArn": role,
        **_isolation(vpc_config, network_isolation),
    }


def create_pipeline_model(
    name: str,
    containers: list[dict[str, Any]],
    role: str,
    *,
    vpc_config: Any = None,
    network_isolation: bool = False,
) -> dict[str, Any]:
    """``CreateModel`` of a serial inference pipeline (``Containers`` run in order)."""
    return {
        "ModelName": name,
        "Containers": containers,
        "InferenceExecutionConfig": {"Mode": "Serial"},
        "ExecutionRoleArn": role,
        **_isolation(vpc_config, network_isolation),
    }


def production_variant(
    variant_name: str,
    model_name: str,
    instance_count: int,
    instance_type: str,
    weight: float = 1.0,
) -> dict[str, Any]:
    """One ``ProductionVariant`` of an endpoint config."""
    return {
        "VariantName": variant_name,
        "ModelName": model_name,
        "InitialInstanceCount": int(instance_count),
        "InstanceType": instance_type,
        "InitialVariantWeight": float(weight),
    }


def data_capture_config(capture: Any, destination: str) -> dict[str, Any]:
    """``DataCaptureConfig`` of a `smkit.serving.DataCaptureSpec` writing to
    ``destination`` (a trailing ``/`` is dropped, as the SDK does)."""
    return dict(capture.to_request(destination.rstrip("/")))


def create_endpoint_config(
    name: str,
    variants: list[dict[str, Any]],
    *,
    data_capture: dict[str, Any] | None = None,
    kms_key: str | None = None,
) -> dict[str, Any]:
    """``CreateEndpointConfig``."""
    out: dict[str, Any] = {"EndpointConfigName": name, "ProductionVariants": list(variants)}
    if data_capture is not None:
        out["DataCaptureConfig"] = data_capture
    if kms_key:
        out["KmsKeyId"] = kms_key
    return out


def create_endpoint(name: str, config_name: str) -> dict[str, Any]:
    """``CreateEndpoint``."""
    return {"EndpointName": name, "EndpointConfigName": config_name}
