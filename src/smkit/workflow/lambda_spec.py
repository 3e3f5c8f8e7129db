"""``LambdaSpec``: a Lambda function from a plain Python handler, and its deterministic zip.

A handler is an ordinary function ``handler(event, context)``. The spec says how it runs
(runtime, memory, timeout, environment) and what ships with it (``dependencies``: files,
directories or importable modules copied into the zip). `package` builds the
deployment zip: the same inputs give the same bytes (sorted entries, fixed timestamps and
permissions, no ``__pycache__``), so a re-deploy of unchanged code uploads nothing new.

Examples:
    >>> from smkit.workflow import LambdaSpec
    >>> def handler(event, context):
    ...     return {"echo": event}
    >>> spec = LambdaSpec(handler, name="echo", timeout=10)
    >>> spec.function_name, spec.timeout
    ('echo', 10)
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import io
import re
import sys
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs

from smkit.errors import ConfigError, SourceNotFoundError, ValidationError

__all__ = ["LambdaSpec", "RUNTIMES", "package", "resolve_handler"]

#: Python runtimes AWS Lambda offers.
RUNTIMES = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def resolve_handler(handler: Callable[..., Any] | str) -> Callable[..., Any]:
    """The function for ``handler``: a callable, ``"module:function"`` or ``"module.function"``.

    Raises:
        ConfigError: the module or function does not exist.
    """
    if callable(handler):
        return handler
    if not isinstance(handler, str) or not handler:
        raise ConfigError(f"handler {handler!r}: expected a function or 'module:function'")
    module_name, sep, attr = handler.partition(":")
    if not sep:
        module_name, _, attr = handler.rpartition(".")
    if not module_name or not attr:
        raise ConfigError(f"handler {handler!r}: expected 'module:function' (or 'module.function')")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"handler {handler!r}: cannot import {module_name!r}: {exc}",
            hint="check the module is on sys.path (run from its directory or install it)",
        ) from exc
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ConfigError(f"handler {handler!r}: {module_name} has no function {attr!r}")
    return fn


def _handler_name(handler: Callable[..., Any] | str) -> tuple[str, str]:
    """``(module, function)`` of a handler."""
    if isinstance(handler, str):
        module_name, sep, attr = handler.partition(":")
        if not sep:
            module_name, _, attr = handler.rpartition(".")
        return module_name, attr
    module_name = getattr(handler, "__module__", None) or ""
    attr = getattr(handler, "__qualname__", getattr(handler, "__name__", ""))
    return module_name, attr


def _check_timeout(inst: Any, attribute: attrs.Attribute, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 900:
        raise ValidationError(f"LambdaSpec.timeout must be 1-900 seconds, got {value!r}")


def _check_memory(inst: Any, attribute: attrs.Attribute, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 128 <= value <= 10240:
        raise ValidationError(f"LambdaSpec.memory must be 128-10240 MB, got {value!r}")


def _check_runtime(inst: Any, attribute: attrs.Attribute, value: str) -> None:
    if value not in RUNTIMES:
        raise ValidationError(
            f"LambdaSpec.runtime {value!r} is not a Python Lambda runtime; use one of "
            f"{', '.join(RUNTIMES)}"
        )


@attrs.frozen
class LambdaSpec:
    """A Lambda function made from a Python handler.

    Args:
        handler: The function ``(event, context) -> result``, or ``"module:function"``.
        name: Function name (default: the handler's name).
        runtime: Lambda runtime (``python3.12`` by default).
        memory: Memory in MB (128-10240).
        timeout: Seconds before the invocation is stopped (1-900; Lambda's default is 3).
        environment: Environment variables set while the handler runs.
        dependencies: Extra files, directories or importable module names to ship in the zip.
        description: Function description.
        standalone: Package the handler's module alone at the top of the zip (for a
            self-contained module inside a package, like `smkit.workflow.handlers`).
    """

    handler: Callable[..., Any] | str = attrs.field(eq=False)
    name: str | None = None
    runtime: str = attrs.field(default="python3.12", validator=_check_runtime)
    memory: int = attrs.field(default=128, validator=_check_memory)
    timeout: int = attrs.field(default=3, validator=_check_timeout)
    environment: dict[str, str] = attrs.field(factory=dict, hash=False)
    dependencies: tuple[str, ...] = attrs.field(
        default=(), converter=lambda v: (v,) if isinstance(v, str) else tuple(str(x) for x in v)
    )
    description: str | None = None
    standalone: bool = False

    def __attrs_post_init__(self) -> None:
        if not callable(self.handler) and not isinstance(self.handler, str):
            raise ValidationError(
                f"LambdaSpec.handler must be a function or 'module:function', got {self.handler!r}"
            )
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", self.function_name):
            raise ValidationError(
                f"Lambda function name {self.function_name!r}: use 1-64 letters, digits, '-' or '_'"
            )
        for key, value in self.environment.items():
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key) or not isinstance(value, str):
                raise ValidationError(
                    f"LambdaSpec.environment: {key!r}={value!r} (keys are identifiers, "
                    "values strings)"
                )

    @property
    def function_name(self) -> str:
        """The Lambda function name."""
        if self.name:
            return self.name
        return _handler_name(self.handler)[1].replace(".", "_").replace("<", "").replace(">", "")

    @property
    def handler_string(self) -> str:
        """Lambda's ``Handler`` setting: ``"module.function"``."""
        module_name, attr = _handler_name(self.handler)
        if "." in attr or "<" in attr:
            raise ValidationError(
                f"handler {attr!r} of {self.function_name!r} is not a module-level function",
                hint="define it at the top level of a module so Lambda can import it",
            )
        if module_name in ("__main__", ""):
            module_name = Path(inspect.getfile(self.handler)).stem  # type: ignore[arg-type]
        elif self.standalone:
            module_name = module_name.rpartition(".")[2]
        return f"{module_name}.{attr}"

    def function(self) -> Callable[..., Any]:
        """The handler as a callable."""
        return resolve_handler(self.handler)

    def package(self) -> bytes:
        """The deployment zip (see `package`)."""
        return package(self)

    def sha256(self) -> str:
        """Base64-free hex SHA-256 of the zip."""
        return hashlib.sha256(self.package()).hexdigest()


def _module_files(module_name: str) -> list[tuple[str, Path]]:
    """``(archive name, file)`` pairs for an importable module or package."""
    if module_name in sys.modules:
        module = sys.modules[module_name]
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise SourceNotFoundError(
                f"dependency {module_name!r} is neither a path nor an importable module"
            ) from exc
    file = getattr(module, "__file__", None)
    if not file:
        raise ConfigError(f"module {module_name!r} has no source file to package")
    path = Path(file)
    parts = module_name.split(".")
    out: list[tuple[str, Path]] = []
    if path.name == "__init__.py":
        base = "/".join(parts)
        out.extend(_tree(path.parent, base))
    else:
        out.append(("/".join([*parts[:-1], path.name]), path))
    # parent packages' __init__ files, so "a.b" imports
    for i in range(1, len(parts)):
        parent = importlib.import_module(".".join(parts[:i]))
        init = getattr(parent, "__file__", None)
        if init and Path(init).name == "__init__.py":
            out.append(("/".join(parts[:i]) + "/__init__.py", Path(init)))
    return out


def _tree(root: Path, prefix: str) -> list[tuple[str, Path]]:
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_dir() or "__pycache__" in rel.parts or path.suffix in (".pyc", ".pyo"):
            continue
        if any(p.startswith(".") for p in rel.parts):
            continue
        out.append((f"{prefix}/{rel.as_posix()}" if prefix else rel.as_posix(), path))
    return out


def _entries(spec: LambdaSpec) -> list[tuple[str, Path]]:
    entries: list[tuple[str, Path]] = []
    module_name, _ = _handler_name(spec.handler)
    if callable(spec.handler) and module_name == "__main__":
        file = Path(inspect.getfile(spec.handler))
        entries.append((file.name, file))
    elif spec.standalone:
        file = Path(importlib.import_module(module_name).__file__ or "")
        entries.append((file.name, file))
    elif module_name:
        entries.extend(_module_files(module_name))
    for dep in spec.dependencies:
        path = Path(dep)
        if path.is_dir():
            entries.extend(_tree(path, path.name))
        elif path.is_file():
            entries.append((path.name, path))
        else:
            entries.extend(_module_files(dep))
    return entries


def package(spec: LambdaSpec, extra: Iterable[tuple[str, bytes]] = ()) -> bytes:
    """Build the deployment zip of ``spec``: the handler's module (with its parent packages'
    ``__init__.py``), then each dependency. Deterministic: sorted names, timestamps
    1980-01-01, mode 0644, deflate level 9.

    Args:
        spec: The function.
        extra: More ``(archive name, content)`` pairs.

    Raises:
        ConfigError: two different files want the same archive name.
    """
    files: dict[str, bytes] = {}
    for arcname, path in _entries(spec):
        data = path.read_bytes()
        if arcname in files and files[arcname] != data:
            raise ConfigError(f"two different files would be packaged as {arcname!r}")
        files[arcname] = data
    for arcname, data in extra:
        files[arcname] = data
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for arcname in sorted(files):
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100644 & 0xFFFF) << 16
            info.create_system = 3
            zf.writestr(info, files[arcname], compresslevel=9)
    return buffer.getvalue()
