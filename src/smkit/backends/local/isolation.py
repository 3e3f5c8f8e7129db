"""What user code run by the local backend may see: a clean environment, redacted logs.

SageMaker gives a training or serving container only what the job or model defines (its
``Environment``, the hyperparameters, the ``SM_*`` / ``SAGEMAKER_*`` variables), never the
caller's shell environment. The local backend does the same: a training script and an
endpoint server start from `clean_environment`, which keeps only what a Python process
needs to run on this machine (``PATH``, ``HOME``, the locale, the temporary directory, the
virtual environment, the thread-count variables) and drops everything else, AWS credentials
and tokens included. ``inherit_env=True`` on the spec opts back into the whole host
environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

__all__ = ["PASS_THROUGH", "clean_environment", "public_error", "redact_argv"]

#: Host variables a process keeps without ``inherit_env``: what Python and its native
#: libraries need to start and behave (no credentials among them).
PASS_THROUGH = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TZ",
        "LANG", "LANGUAGE", "TMPDIR", "TMP", "TEMP",
        "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CONDA_PREFIX", "LD_LIBRARY_PATH",
        "MPLBACKEND", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
        "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "CUDA_VISIBLE_DEVICES",
        "NVIDIA_VISIBLE_DEVICES", "SMKIT_HOME",
    }
)  # fmt: skip
#: prefixes kept too: the locale, and smkit's own settings (but never one whose name looks
#: like a secret: ``SMKIT_ENDPOINT_TOKEN``, ``SMKIT_GATEWAY_TOKEN_SHA256``)
_PASS_PREFIXES = ("LC_", "SMKIT_")
_SECRET_KEY = re.compile(r"secret|token|password|passwd|credential|authorization|api[_-]?key", re.I)


def clean_environment(
    defined: Mapping[str, str] | None = None,
    *,
    inherit: bool = False,
    host: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a job's script or an endpoint's server.

    Args:
        defined: What the spec defines (``Environment``, ``SM_*`` variables...); wins over
            the host's values.
        inherit: Keep the whole host environment (the explicit ``inherit_env`` opt-in).
        host: The host environment (default ``os.environ``).
    """
    host = os.environ if host is None else host
    if inherit:
        env = dict(host)
    else:
        env = {
            k: v
            for k, v in host.items()
            if k in PASS_THROUGH or (k.startswith(_PASS_PREFIXES) and not _SECRET_KEY.search(k))
        }
    env.update(defined or {})
    return env


def redact_argv(argv: list[str]) -> list[str]:
    """``--key value`` arguments with the values of secret-looking keys replaced."""
    from smkit.report import REDACTED, redact

    out: list[str] = []
    hide = False
    for arg in argv:
        if hide:
            out.append(REDACTED)
            hide = False
            continue
        if arg.startswith("--"):
            key, eq, _ = arg[2:].partition("=")
            if _SECRET_KEY.search(key):
                if eq:
                    out.append(f"--{key}={REDACTED}")
                else:
                    out.append(arg)
                    hide = True
                continue
        out.append(redact(arg))
    return out


_PATH = re.compile(r"(?:/[\w.+@~-]+)+/([\w.+@~-]+)")
_STAMP = re.compile(r"^\[\d\d:\d\d:\d\d\]\s*")


def public_error(exc: BaseException, limit: int = 500) -> str:
    """``Type: message`` of a model error as a client may see it: the first line only (no
    native stack trace), file paths reduced to their last component (no build or install
    paths of this machine), at most ``limit`` characters."""
    text = str(exc).strip().split("\nStack trace:", 1)[0].strip()
    first = text.splitlines()[0] if text else ""
    first = _PATH.sub(r"\1", _STAMP.sub("", first))
    return f"{type(exc).__name__}: {first}"[:limit]
