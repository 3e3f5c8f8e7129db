"""Serving specs: the model, the endpoint and its data capture.

Specs are immutable data validated when built; they never touch disk or network. The same
spec deploys on the local backend (a real HTTP server on 127.0.0.1) and on AWS
(CreateModel / CreateEndpointConfig / CreateEndpoint).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import attrs

from smkit.errors import ConfigError

__all__ = [
    "CAPTURE_MODES",
    "DEFAULT_VARIANT",
    "FRAMEWORKS",
    "LOOPBACK",
    "DataCaptureSpec",
    "EndpointSpec",
    "ModelSpec",
]

#: Frameworks with a built-in handler, plus ``custom`` (inference code required).
FRAMEWORKS = ("xgboost", "sklearn", "pytorch", "autogluon", "custom")
#: SageMaker's default production variant name.
DEFAULT_VARIANT = "AllTraffic"
#: Capture modes of ``DataCaptureConfig.CaptureOptions``.
CAPTURE_MODES = ("Input", "Output")

# SageMaker resource names: 1-63 alphanumerics and hyphens, not starting with a hyphen.
_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_MEDIA_RE = re.compile(r"^[\w.+-]+/[\w.+-]+$")
_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_TOKEN_RE = re.compile(r"^[\x21-\x7e]{16,512}$")

#: The address local servers bind unless told otherwise.
LOOPBACK = "127.0.0.1"


def check_host(value: Any) -> str:
    """Raise `ConfigError` unless ``value`` is an IP address or a host name."""
    import ipaddress

    if isinstance(value, str):
        try:
            ipaddress.ip_address(value)
            return value
        except ValueError:
            if _HOST_RE.match(value):
                return value
    raise ConfigError(
        f"host {value!r} is not an IP address or host name",
        hint="use 127.0.0.1 (this machine only, the default) or e.g. 0.0.0.0",
        value=value,
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is reachable from this machine only."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_name(what: str, value: str) -> str:
    """Raise `ConfigError` unless ``value`` is a valid SageMaker resource name."""
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ConfigError(
            f"{what} {value!r} is not a valid SageMaker name",
            hint="use 1-63 letters, digits and hyphens, starting with a letter or digit",
            value=value,
        )
    return value


def _opt_name(what: str) -> Any:
    def check(inst: Any, attr: attrs.Attribute, value: str | None) -> None:
        if value is not None:
            check_name(f"{type(inst).__name__}.{attr.name}", value)

    return check


def _non_empty_str(inst: Any, attr: attrs.Attribute, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ConfigError(f"{type(inst).__name__}.{attr.name} must be a non-empty string")


def _env(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"ModelSpec.env must be a dict of strings, got {type(value).__name__}")
    out = {}
    for k, v in value.items():
        if not isinstance(k, str) or not isinstance(v, str | int | float | bool):
            raise ConfigError(f"ModelSpec.env[{k!r}] must map a string to a string, got {v!r}")
        out[k] = str(v)
    return out


def _vpc(value: Any) -> Any:
    from smkit.training.spec import VpcConfig

    return VpcConfig.coerce(value)


def _to_paths(value: Any) -> tuple[str, ...]:
    """``dependencies=``: one path or several, as strings."""
    if value is None:
        return ()
    if isinstance(value, str | Path):
        value = [value]
    return tuple(str(v) for v in value)


@attrs.frozen
class ModelSpec:
    """A model artifact and how to serve it.

    Args:
        model_data: ``s3://`` URI or local path of a ``model.tar.gz``.
        framework: ``xgboost``, ``sklearn``, ``pytorch``, ``autogluon`` (built-in handlers),
            or ``custom`` (then ``entry_point`` is required).
        framework_version: Framework version (picks the AWS image; informational locally).
        entry_point: Inference script defining any of the toolkit hooks ``model_fn``,
            ``input_fn``, ``predict_fn``, ``output_fn`` (or ``transform_fn``); hooks it does
            not define fall back to the framework's built-in handler.
        source_dir: Directory holding ``entry_point`` (and anything it imports).
        image_uri: Container image on AWS (default: the framework's SageMaker image).
        env: Environment variables for the model container.
        name: Model name (default: derived from the endpoint's name).
        sha256: Hex SHA-256 of ``model_data``; verified before the model is loaded.
        vpc_config: `VpcConfig` (or a dict) the model's
            containers run in (AWS ``CreateModel.VpcConfig``).
        enable_network_isolation: No network access from the containers (AWS).
        inherit_env: Local backend: the endpoint server keeps the whole host environment.
            By default it sees only ``env``, the SageMaker variables and what Python needs,
            as a SageMaker container does (no AWS credentials or tokens of the caller).
        install_requirements: Install ``code/requirements.txt`` (or ``source_dir``'s) before
            the model loads, as the inference toolkit does. Local backend only: ``False``
            skips it (``--no-requirements``); SageMaker's containers always install it.
        dependencies: Extra directories or files served next to the inference script, each
            under its own name (the SDK's ``dependencies=``, repacked into ``code/``).

    Examples:
        >>> ModelSpec(model_data="s3://b/model.tar.gz", framework="xgboost").framework
        'xgboost'
    """

    model_data: str = attrs.field(validator=_non_empty_str)
    framework: str = attrs.field(default="custom")
    framework_version: str | None = attrs.field(default=None, validator=_non_empty_str)
    entry_point: str | None = attrs.field(default=None, validator=_non_empty_str)
    source_dir: str | None = attrs.field(default=None, validator=_non_empty_str)
    image_uri: str | None = attrs.field(default=None, validator=_non_empty_str)
    env: dict[str, str] = attrs.field(factory=dict, converter=_env)
    name: str | None = attrs.field(default=None, validator=_opt_name("name"))
    sha256: str | None = attrs.field(default=None)
    vpc_config: Any = attrs.field(default=None, converter=_vpc)
    enable_network_isolation: bool = attrs.field(default=False, converter=bool)
    inherit_env: bool = attrs.field(default=False, converter=bool)
    install_requirements: bool = attrs.field(default=True, converter=bool)
    dependencies: tuple[str, ...] = attrs.field(factory=tuple, converter=_to_paths)

    @framework.validator
    def _check_framework(self, attr: attrs.Attribute, value: str) -> None:
        if value not in FRAMEWORKS:
            raise ConfigError(
                f"ModelSpec.framework {value!r} is not supported",
                hint=f"use one of {', '.join(FRAMEWORKS)}",
                value=value,
            )

    @sha256.validator
    def _check_sha(self, attr: attrs.Attribute, value: str | None) -> None:
        if value is not None and (not isinstance(value, str) or not _SHA_RE.match(value)):
            raise ConfigError(
                f"ModelSpec.sha256 {value!r} is not a lower-case hex SHA-256 (64 characters)"
            )

    def __attrs_post_init__(self) -> None:
        if self.framework == "custom" and not self.entry_point:
            raise ConfigError(
                "ModelSpec(framework='custom') needs an entry_point defining model_fn",
                hint="pass entry_point='inference.py' (and source_dir), or a built-in framework",
            )

    def with_(self, **changes: Any) -> ModelSpec:
        """A copy with ``changes`` applied (validated again)."""
        return attrs.evolve(self, **changes)


def _percentage(inst: Any, attr: attrs.Attribute, value: Any) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or math.isnan(value) or not 0 <= value <= 100:
        raise ConfigError(
            f"DataCaptureSpec.sampling_percentage must be a number in [0, 100], got {value!r}"
        )


def _media_types(inst: Any, attr: attrs.Attribute, value: tuple[str, ...]) -> None:
    if not value:
        raise ConfigError(f"DataCaptureSpec.{attr.name} must list at least one content type")
    for item in value:
        if not isinstance(item, str) or not _MEDIA_RE.match(item):
            raise ConfigError(
                f"DataCaptureSpec.{attr.name}: {item!r} is not a media type like 'text/csv'"
            )


def _tuple_of_str(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@attrs.frozen
class DataCaptureSpec:
    """SageMaker endpoint data capture (``DataCaptureConfig``).

    Args:
        sampling_percentage: Share of requests captured, 0-100 (SageMaker's SDK default 20).
        destination: ``s3://`` prefix; captures go to
            ``{destination}/{endpoint}/{variant}/yyyy/mm/dd/hh/``. Default
            ``s3://<default bucket>/data-capture``.
        capture_input: Capture request payloads.
        capture_output: Capture response payloads.
        csv_content_types: Content types captured as text with ``"encoding": "CSV"``.
        json_content_types: Content types captured as text with ``"encoding": "JSON"``;
            any other content type is captured base64-encoded (``"encoding": "BASE64"``).
        kms_key_id: KMS key for the captured objects (AWS only).

    Examples:
        >>> DataCaptureSpec(sampling_percentage=100).to_request("s3://b/capture")[
        ...     "InitialSamplingPercentage"]
        100
    """

    sampling_percentage: float = attrs.field(default=20, validator=_percentage)
    destination: str | None = attrs.field(default=None)
    capture_input: bool = True
    capture_output: bool = True
    csv_content_types: tuple[str, ...] = attrs.field(
        default=("text/csv",), converter=_tuple_of_str, validator=_media_types
    )
    json_content_types: tuple[str, ...] = attrs.field(
        default=("application/json",), converter=_tuple_of_str, validator=_media_types
    )
    kms_key_id: str | None = None

    @destination.validator
    def _check_dest(self, attr: attrs.Attribute, value: str | None) -> None:
        if value is not None:
            from smkit import uri as s3uri

            s3uri.parse(value)

    def __attrs_post_init__(self) -> None:
        if not (self.capture_input or self.capture_output):
            raise ConfigError(
                "DataCaptureSpec captures nothing",
                hint="set capture_input=True and/or capture_output=True",
            )

    @property
    def capture_modes(self) -> tuple[str, ...]:
        """The ``CaptureMode`` values: ``Input`` and/or ``Output``."""
        return tuple(
            m for m, on in zip(CAPTURE_MODES, (self.capture_input, self.capture_output)) if on
        )

    def to_request(self, destination: str) -> dict[str, Any]:
        """The ``DataCaptureConfig`` of a CreateEndpointConfig request.

        Args:
            destination: The resolved destination (``self.destination`` or the default).
        """
        pct = self.sampling_percentage
        out: dict[str, Any] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": int(pct) if float(pct).is_integer() else pct,
            "DestinationS3Uri": destination,
            "CaptureOptions": [{"CaptureMode": m} for m in self.capture_modes],
            "CaptureContentTypeHeader": {
                "CsvContentTypes": list(self.csv_content_types),
                "JsonContentTypes": list(self.json_content_types),
            },
        }
        if self.kms_key_id:
            out["KmsKeyId"] = self.kms_key_id
        return out

    @classmethod
    def from_request(cls, config: dict[str, Any]) -> DataCaptureSpec | None:
        """Read a ``DataCaptureConfig`` (request or Describe* shape); ``None`` if disabled."""
        if not config or not config.get("EnableCapture", False):
            return None
        pct = config.get("InitialSamplingPercentage", config.get("CurrentSamplingPercentage", 20))
        modes = {o.get("CaptureMode") for o in config.get("CaptureOptions") or []} or {
            "Input",
            "Output",
        }
        header = config.get("CaptureContentTypeHeader") or {}
        return cls(
            sampling_percentage=pct,
            destination=config.get("DestinationS3Uri"),
            capture_input="Input" in modes,
            capture_output="Output" in modes,
            csv_content_types=tuple(header.get("CsvContentTypes") or ("text/csv",)),
            json_content_types=tuple(header.get("JsonContentTypes") or ("application/json",)),
            kms_key_id=config.get("KmsKeyId"),
        )


def _positive_int(inst: Any, attr: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{type(inst).__name__}.{attr.name} must be an int >= 1, got {value!r}")


def _opt_positive(inst: Any, attr: attrs.Attribute, value: Any) -> None:
    if value is None:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or math.isnan(value) or value <= 0:
        raise ConfigError(f"{type(inst).__name__}.{attr.name} must be > 0 seconds, got {value!r}")


@attrs.frozen
class EndpointSpec:
    """A real-time endpoint.

    Args:
        name: Endpoint name (1-63 letters, digits, hyphens).
        variant: Production variant name.
        instance_type: Instance type on AWS (recorded locally).
        instance_count: Initial instance count.
        data_capture: Data capture, or ``None`` for none.
        idle_timeout: Seconds without invocations after which the endpoint deletes itself
            (local backend); ``None`` keeps it until deleted.
        startup_timeout: Seconds to wait for the endpoint to be ``InService``.
        host: Address the local endpoint's server binds (local backend). The default
            ``127.0.0.1`` is reachable from this machine only; any other address (e.g.
            ``0.0.0.0``) logs a warning and should come with ``auth_token``.
        auth_token: Bearer token the local server requires on every request but ``/ping``
            (``Authorization: Bearer <token>``; 401 otherwise). Only its SHA-256 is recorded;
            the handle returned by ``deploy`` sends it. At least 16 characters. Not sent to
            AWS (SageMaker authenticates callers with IAM).
        kms_key: KMS key encrypting the ML storage volume of the instances (AWS,
            ``CreateEndpointConfig.KmsKeyId``).

    Examples:
        >>> EndpointSpec(name="wine").config_name
        'wine-config'
    """

    name: str = attrs.field()
    variant: str = attrs.field(default=DEFAULT_VARIANT)
    instance_type: str = attrs.field(default="ml.m5.large")
    instance_count: int = attrs.field(default=1, validator=_positive_int)
    data_capture: DataCaptureSpec | None = attrs.field(default=None)
    idle_timeout: float | None = attrs.field(default=None, validator=_opt_positive)
    startup_timeout: float = attrs.field(default=120.0, validator=_opt_positive)
    host: str = attrs.field(default=LOOPBACK)
    auth_token: str | None = attrs.field(default=None, repr=False)
    kms_key: str | None = attrs.field(default=None, validator=_non_empty_str)

    @host.validator
    def _check_host(self, attr: attrs.Attribute, value: str) -> None:
        check_host(value)

    @auth_token.validator
    def _check_token(self, attr: attrs.Attribute, value: str | None) -> None:
        if value is None:
            return
        if not isinstance(value, str) or not _TOKEN_RE.match(value):
            raise ConfigError(
                "EndpointSpec.auth_token must be 16-512 printable characters without spaces",
                hint="e.g. secrets.token_urlsafe(32)",
            )

    @property
    def is_loopback(self) -> bool:
        """Whether `host` is reachable from this machine only."""
        return is_loopback(self.host)

    @name.validator
    def _check_name(self, attr: attrs.Attribute, value: str) -> None:
        check_name("EndpointSpec.name", value)

    @variant.validator
    def _check_variant(self, attr: attrs.Attribute, value: str) -> None:
        check_name("EndpointSpec.variant", value)

    @instance_type.validator
    def _check_instance(self, attr: attrs.Attribute, value: str) -> None:
        if not isinstance(value, str) or not (value.startswith("ml.") or value == "local"):
            raise ConfigError(
                f"EndpointSpec.instance_type {value!r} is not a SageMaker instance type",
                hint="e.g. 'ml.m5.large'",
            )

    @data_capture.validator
    def _check_capture(self, attr: attrs.Attribute, value: Any) -> None:
        if value is not None and not isinstance(value, DataCaptureSpec):
            raise ConfigError(
                f"EndpointSpec.data_capture must be a DataCaptureSpec, got {type(value).__name__}"
            )

    @property
    def config_name(self) -> str:
        """The endpoint configuration's name: ``{name}-config``."""
        return f"{self.name[:56]}-config"

    def with_(self, **changes: Any) -> EndpointSpec:
        """A copy with ``changes`` applied (validated again)."""
        return attrs.evolve(self, **changes)
