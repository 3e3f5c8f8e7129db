"""Readers and writers of Model Monitor and Clarify files.

Writers pretty-print like Jackson (SageMaker's analyzer is a JVM program): ``"key" : value``,
two-space indent, arrays of objects as ``[ {`` ... ``} ]``, doubles as Java's
``Double.toString`` spells them (``1.0``, ``1.0E-5``) and non-finite doubles as the strings
``"NaN"``/``"Infinity"``. Readers accept any JSON.

Readers check the schema version: data-quality and model-quality files carry
``"version": 0.0``, Clarify files ``"version": "1.0"``; anything else is a
`FormatError` that names the file and the version found.
"""

from __future__ import annotations

import decimal
import json
import math
from pathlib import Path
from typing import Any

from smkit.errors import FormatError, SourceNotFoundError

__all__ = [
    "MONITOR_SCHEMA_VERSION",
    "CLARIFY_SCHEMA_VERSION",
    "dumps_jackson",
    "java_double",
    "read_analysis",
    "read_constraints",
    "read_json_file",
    "read_statistics",
    "read_violations",
    "write_json_file",
]

#: ``version`` of statistics / constraints files written by Model Monitor.
MONITOR_SCHEMA_VERSION = 0.0
#: ``version`` of Clarify's analysis.json.
CLARIFY_SCHEMA_VERSION = "1.0"


def java_double(value: float) -> str:
    """Format a double as Java's ``Double.toString`` (what Jackson writes).

    Examples:
        >>> java_double(1.0), java_double(0.25), java_double(1e-5), java_double(12345678.0)
        ('1.0', '0.25', '1.0E-5', '1.2345678E7')
    """
    if math.isnan(value):
        return '"NaN"'
    if math.isinf(value):
        return '"Infinity"' if value > 0 else '"-Infinity"'
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    mag = abs(value)
    if 1e-3 <= mag < 1e7:
        text = repr(value)
        if "e" in text:  # pragma: no cover - repr uses exponents only outside this range
            text = format(value, ".17f").rstrip("0")
        return text if "." in text else text + ".0"
    sign, digits, exp = decimal.Decimal(repr(value)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    exponent = len(digits) + int(exp) - 1
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{exponent}"


def dumps_jackson(value: Any, indent: int = 0) -> str:
    """Serialise ``value`` the way Jackson's default pretty printer does."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{ }"
        items = [
            f"{pad}  {json.dumps(str(k))} : {dumps_jackson(v, indent + 1)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[ ]"
        return "[ " + ", ".join(dumps_jackson(v, indent) for v in value) + " ]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, int):
        return str(value)
    if hasattr(value, "item"):  # numpy scalar
        return dumps_jackson(value.item(), indent)
    return json.dumps(str(value))


def write_json_file(path: str | Path, data: Any) -> Path:
    """Write ``data`` Jackson-style to ``path`` (parents created); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dumps_jackson(data) + "\n", encoding="utf-8")
    return target


def read_json_file(path: str | Path) -> Any:
    """Parse a JSON file (``NaN``/``Infinity`` accepted), with errors naming the file."""
    target = Path(path)
    try:
        text = target.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{str(target)!r} is not UTF-8 JSON: {exc}", path=str(target)) from exc
    except (OSError, ValueError) as exc:  # missing, a directory, a name too long, a NUL...
        raise SourceNotFoundError(
            f"no such file: {str(target)[:200]!r} ({type(exc).__name__})", path=str(target)
        ) from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FormatError(f"{str(target)!r} is not valid JSON: {exc}", path=str(target)) from exc


def _check_monitor_version(data: Any, what: str, source: str) -> None:
    if not isinstance(data, dict):
        raise FormatError(f"{source}: a {what} file must be a JSON object", path=source)
    version = data.get("version", MONITOR_SCHEMA_VERSION)
    try:
        ok = float(version) == MONITOR_SCHEMA_VERSION
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise FormatError(
            f"{source}: {what} schema version {version!r} is not supported "
            f"(smkit reads version {MONITOR_SCHEMA_VERSION})",
            hint="regenerate the baseline with this analyzer (smkit monitor baseline)",
            path=source,
            version=version,
        )


def _load(source: str | Path | dict[str, Any]) -> tuple[Any, str]:
    if isinstance(source, dict):
        return source, "<dict>"
    if not isinstance(source, str | Path):
        raise FormatError(
            f"expected a file path or a parsed JSON object, got {type(source).__name__}"
        )
    return read_json_file(source), str(source)


def read_statistics(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """Read a data-quality ``statistics.json`` (path or parsed dict).

    Raises:
        FormatError: not JSON, wrong schema version, or no ``features`` list.
    """
    data, name = _load(source)
    _check_monitor_version(data, "statistics", name)
    if not isinstance(data.get("features"), list):
        raise FormatError(f"{name}: statistics has no 'features' list", path=name)
    for feature in data["features"]:
        if not isinstance(feature, dict) or "name" not in feature:
            raise FormatError(f"{name}: every feature needs a 'name'", path=name)
    return data


def read_constraints(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """Read a ``constraints.json`` (data quality or model quality)."""
    data, name = _load(source)
    _check_monitor_version(data, "constraints", name)
    return data


def read_violations(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """Read a ``constraint_violations.json`` (data quality, model quality or Clarify)."""
    data, name = _load(source)
    if not isinstance(data, dict) or not isinstance(data.get("violations"), list):
        raise FormatError(f"{name}: violations file has no 'violations' list", path=name)
    for v in data["violations"]:
        if not isinstance(v, dict) or "constraint_check_type" not in v:
            raise FormatError(f"{name}: each violation needs 'constraint_check_type'", path=name)
    return data


def read_analysis(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """Read a Clarify ``analysis.json``."""
    data, name = _load(source)
    if not isinstance(data, dict):
        raise FormatError(f"{name}: analysis must be a JSON object", path=name)
    version = str(data.get("version", CLARIFY_SCHEMA_VERSION))
    if version != CLARIFY_SCHEMA_VERSION:
        raise FormatError(
            f"{name}: Clarify analysis version {version!r} is not supported "
            f"(smkit reads {CLARIFY_SCHEMA_VERSION!r})",
            path=name,
            version=version,
        )
    return data
