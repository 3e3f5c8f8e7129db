"""Inference handlers: the SageMaker inference toolkit's hooks, with built-in defaults.

A :class:`Handler` serves one model. It calls the four toolkit hooks in order::

    model = model_fn(model_dir)                     # once, at start-up
    data = input_fn(body, content_type)             # per request
    prediction = predict_fn(data, model)
    body = output_fn(prediction, accept)            # str/bytes, or (body, content_type)

(or ``transform_fn(model, body, content_type, accept)`` instead of the last three). Hooks
the user's inference script (``ModelSpec.entry_point``) defines win; the others come from
the framework's built-in handler:

============  ============================================  ===============================
framework     model_fn loads                                predict_fn
============  ============================================  ===============================
xgboost       ``xgboost-model`` (or ``*.json/*.ubj/*.bst``;   ``Booster.inplace_predict``
              native format or a pickle)                    (sklearn wrappers: ``predict``)
sklearn       ``model.joblib`` / ``*.joblib`` / ``*.pkl``   ``model.predict``
autogluon     a ``TabularPredictor`` directory              ``predictor.predict``
pytorch       ``model.pt``/``model.pth`` (TorchScript, or   ``model(tensor)`` without grad
              a pickled ``nn.Module``)
============  ============================================  ===============================

Built-in ``input_fn`` decodes ``text/csv`` (rows, no header), ``application/json`` (a row,
a list of rows, or ``{"instances": ...}`` / ``{"inputs": ...}``) and ``application/x-npy``.
Built-in ``output_fn`` encodes CSV (one line per row), JSON (``{"predictions": [...]}``)
or ``.npy``. ``Accept`` missing or ``*/*`` answers in the request's own format.

A hook may return ``(body, content_type, custom_attributes)``: the third item is sent back
as ``X-Amzn-SageMaker-Custom-Attributes`` (the header is echoed only when the model sets
it). During a request, :data:`current_request` holds the request's ``custom_attributes``
and ``inference_id`` for hooks that want them.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import warnings
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from smkit.errors import ConfigError, SourceNotFoundError
from smkit.serving.npy import load_npy

__all__ = ["SUPPORTED_TYPES", "Handler", "RequestError", "current_request", "parse_accept"]

CSV, JSON, NPY = "text/csv", "application/json", "application/x-npy"
CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"
#: The request being served: ``{"custom_attributes": str | None, "inference_id": ...}``.
current_request: ContextVar[dict[str, Any]] = ContextVar("smkit_current_request", default={})  # noqa: B039
SUPPORTED_TYPES = (CSV, JSON, NPY)


class RequestError(Exception):
    """A request the handler refuses; the server answers with ``status`` and ``code``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def media_type(content_type: str | None) -> str:
    """``"text/csv; charset=utf-8"`` -> ``"text/csv"``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_accept(accept: str | None, default: str, supported: tuple[str, ...]) -> str:
    """The response type to use for an ``Accept`` header (first supported, by q-order).

    Raises:
        RequestError: 406 when nothing in ``accept`` is supported.
    """
    if not accept or accept.strip() in ("*/*", ""):
        return default
    choices: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept.split(",")):
        bits = part.split(";")
        mt = bits[0].strip().lower()
        q = 1.0
        for b in bits[1:]:
            k, _, v = b.strip().partition("=")
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        choices.append((-q, i, mt))
    for _, _, mt in sorted(choices):
        if mt in ("*/*", "") or (mt.endswith("/*") and default.startswith(mt[:-1])):
            return default
        if mt in supported:
            return mt
    raise RequestError(
        406, "NotAcceptable", f"Accept {accept!r} is not supported; use one of {supported}"
    )


# -- built-in input / output -------------------------------------------------------------
def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(400, "ClientError", f"body is not valid UTF-8: {exc}") from None


def decode_array(body: bytes, content_type: str) -> Any:
    """Decode a request into a 2-D float32 NumPy array (the built-in ``input_fn``)."""
    import numpy as np

    mt = media_type(content_type)
    if mt == CSV:
        text = _text(body)
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if not lines:
            raise RequestError(400, "ClientError", "CSV body has no rows")
        try:
            return np.array([ln.split(",") for ln in lines], dtype=np.float32)
        except ValueError as exc:
            raise RequestError(
                400, "ClientError", f"CSV rows must be numbers with equal lengths: {exc}"
            ) from None
    if mt == JSON:
        try:
            doc = json.loads(_text(body))
        except (ValueError, RecursionError) as exc:
            raise RequestError(400, "ClientError", f"body is not valid JSON: {exc}") from None
        if isinstance(doc, dict):
            for key in ("instances", "inputs", "features", "data"):
                if key in doc:
                    doc = doc[key]
                    break
            else:
                raise RequestError(
                    400,
                    "ClientError",
                    "JSON object needs 'instances' (or 'inputs'/'features') holding rows",
                )
        try:
            arr = np.asarray(doc, dtype=np.float32)
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            raise RequestError(
                400, "ClientError", f"JSON rows must be numbers with equal lengths: {exc}"
            ) from None
        if arr.ndim == 1:
            arr = arr.reshape(1, -1)
        if arr.ndim != 2 or arr.size == 0:
            raise RequestError(400, "ClientError", f"expected rows of features, got {arr.shape}")
        return arr
    if mt == NPY:
        try:
            arr = load_npy(body)
        except Exception as exc:
            raise RequestError(400, "ClientError", f"body is not a .npy array: {exc}") from None
        return arr.reshape(1, -1) if arr.ndim == 1 else arr
    raise RequestError(
        415,
        "UnsupportedMediaType",
        f"content type {content_type!r} is not one of {SUPPORTED_TYPES}",
    )


def encode_prediction(prediction: Any, accept: str) -> tuple[bytes, str]:
    """Encode a prediction (the built-in ``output_fn``)."""
    import numpy as np

    if hasattr(prediction, "to_numpy"):
        prediction = prediction.to_numpy()
    if hasattr(prediction, "detach"):
        prediction = prediction.detach().cpu().numpy()
    arr = np.asarray(prediction)
    if accept == NPY:
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        return buf.getvalue(), NPY
    if accept == JSON:
        return json.dumps({"predictions": arr.tolist()}).encode(), JSON
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim == 1:
        text = "\n".join(map(str, arr))
    else:
        text = "\n".join(",".join(map(str, row)) for row in arr)
    return text.encode(), CSV


# -- model loaders -------------------------------------------------------------------------
def _find(model_dir: Path | str, names: tuple[str, ...], patterns: tuple[str, ...]) -> Path:
    model_dir = Path(model_dir)
    for n in names:
        if (model_dir / n).is_file():
            return model_dir / n
    for pat in patterns:
        hits = sorted(p for p in model_dir.rglob(pat) if p.is_file())
        if hits:
            return hits[0]
    raise SourceNotFoundError(
        f"no model file in {str(model_dir)!r} (looked for {', '.join(names + patterns)})",
        hint="put the model file at the top of model.tar.gz or give an entry_point with model_fn",
    )


def _load_xgboost(model_dir: Path) -> Any:
    import pickle

    import xgboost as xgb

    path = _find(model_dir, ("xgboost-model",), ("*.json", "*.ubj", "*.bst", "*.model", "*.pkl"))
    booster = xgb.Booster()
    try:
        with warnings.catch_warnings():  # "xgboost-model" has no extension: format guessed
            warnings.simplefilter("ignore")
            booster.load_model(str(path))
        model: Any = booster
    except xgb.core.XGBoostError:
        with open(path, "rb") as fh:
            model = pickle.load(fh)  # the SageMaker XGBoost container pickles boosters
    if isinstance(model, xgb.Booster):
        model.set_param({"nthread": 1})
    return model


def _load_sklearn(model_dir: Path) -> Any:
    import joblib

    return joblib.load(_find(model_dir, ("model.joblib", "model.pkl"), ("*.joblib", "*.pkl")))


def _load_autogluon(model_dir: Path | str) -> Any:
    from autogluon.tabular import TabularPredictor

    model_dir = Path(model_dir)
    hits = sorted(model_dir.rglob("predictor.pkl"))
    if not hits:
        raise SourceNotFoundError(f"no AutoGluon predictor (predictor.pkl) in {str(model_dir)!r}")
    return TabularPredictor.load(str(hits[0].parent), require_py_version_match=False)


def _load_pytorch(model_dir: Path) -> Any:
    import torch

    path = _find(model_dir, ("model.pt", "model.pth"), ("*.pt", "*.pth"))
    try:
        model = torch.jit.load(str(path), map_location="cpu")
    except RuntimeError:
        model = torch.load(str(path), map_location="cpu", weights_only=False)
    if not callable(model):
        raise ConfigError(
            f"{path.name} holds a {type(model).__name__}, not a model",
            hint="save a TorchScript module or a whole nn.Module, or define model_fn",
        )
    model.eval()
    return model


_LOADERS: dict[str, Callable[[Path], Any]] = {
    "xgboost": _load_xgboost,
    "sklearn": _load_sklearn,
    "autogluon": _load_autogluon,
    "pytorch": _load_pytorch,
}


def _predict_default(framework: str) -> Callable[[Any, Any], Any]:
    def predict(data: Any, model: Any) -> Any:
        if framework == "xgboost" and hasattr(model, "inplace_predict"):
            return model.inplace_predict(data)
        if framework == "autogluon":
            import pandas as pd

            if not isinstance(data, pd.DataFrame):
                cols = list(model.original_features)
                if data.shape[1] != len(cols):
                    raise ValueError(f"expected {len(cols)} features, got {data.shape[1]}")
                data = pd.DataFrame(data, columns=cols)
            return model.predict(data)
        if framework == "pytorch":
            import torch

            with torch.no_grad():
                return model(torch.as_tensor(data, dtype=torch.float32))
        return model.predict(data)

    return predict


# -- user inference code -------------------------------------------------------------------
def load_user_module(entry_point: str, source_dir: str | None, model_dir: Path) -> Any:
    """Import the inference script (from ``source_dir``, ``model_dir/code`` or a path)."""
    candidates = []
    if source_dir:
        candidates.append(Path(source_dir) / entry_point)
    candidates += [model_dir / "code" / entry_point, model_dir / entry_point, Path(entry_point)]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise SourceNotFoundError(
            f"inference script {entry_point!r} not found (looked in "
            f"{', '.join(str(c.parent) for c in candidates)})",
            hint="pass source_dir= the directory holding it, or pack it as code/ in the tarball",
        )
    path = path.resolve()
    sys.path.insert(0, str(path.parent))
    name = f"smkit_user_inference_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Handler:
    """One loaded model and the hooks that serve it.

    Args:
        model_dir: The extracted ``model.tar.gz``.
        framework: One of :data:`smkit.serving.FRAMEWORKS`.
        entry_point: Inference script with toolkit hooks (optional for built-ins).
        source_dir: Directory of the script.
    """

    def __init__(
        self,
        model_dir: str | Path,
        framework: str,
        entry_point: str | None = None,
        source_dir: str | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.framework = framework
        user = load_user_module(entry_point, source_dir, self.model_dir) if entry_point else None
        self.user = user

        def hook(name: str) -> Any:
            return getattr(user, name, None) if user is not None else None

        model_fn = hook("model_fn") or _LOADERS.get(framework)
        if model_fn is None:
            raise ConfigError(
                f"the inference script {entry_point!r} defines no model_fn and framework "
                f"{framework!r} has no built-in loader",
                hint="define model_fn(model_dir) in the script",
            )
        self.transform_fn = hook("transform_fn")
        self.input_fn = hook("input_fn") or decode_array
        self.predict_fn = hook("predict_fn") or _predict_default(framework)
        self.output_fn = hook("output_fn")
        self.custom_input = hook("input_fn") is not None
        self.model = model_fn(str(self.model_dir))

    def default_accept(self, content_type: str) -> str:
        """The answer's type when ``Accept`` is missing or ``*/*``."""
        mt = media_type(content_type)
        return mt if mt in SUPPORTED_TYPES else CSV

    def __call__(
        self, body: bytes, content_type: str, accept: str | None
    ) -> tuple[bytes, str, dict[str, str]]:
        """Serve one request; returns the body, its content type and extra headers.

        Raises:
            RequestError: the request is refused (4xx).
            Exception: whatever the model or a hook raised (a model error).
        """
        if self.transform_fn is not None:
            out = self.transform_fn(self.model, body, content_type, accept or "*/*")
            return _as_response(out, accept)
        if not self.custom_input and media_type(content_type) not in SUPPORTED_TYPES:
            raise RequestError(
                415,
                "UnsupportedMediaType",
                f"content type {content_type!r} is not one of {SUPPORTED_TYPES}",
            )
        default = self.default_accept(content_type)
        if self.output_fn is None:
            acc = parse_accept(accept, default, SUPPORTED_TYPES)
        else:
            acc = accept if accept and accept.strip() != "*/*" else default
        data = self.input_fn(body, content_type)
        prediction = self.predict_fn(data, self.model)
        if self.output_fn is None:
            out_body, out_type = encode_prediction(prediction, acc)
            return out_body, out_type, {}
        return _as_response(self.output_fn(prediction, acc), acc)


def _as_response(out: Any, accept: str | None) -> tuple[bytes, str, dict[str, str]]:
    ctype = accept if accept and accept.strip() != "*/*" else JSON
    headers: dict[str, str] = {}
    if isinstance(out, tuple):
        if len(out) > 2 and out[2]:  # (body, content_type, custom_attributes)
            headers[CUSTOM_ATTRIBUTES] = str(out[2])
        out, ctype = out[0], out[1]
    if isinstance(out, str):
        out = out.encode("utf-8")
    elif not isinstance(out, bytes | bytearray):
        out = json.dumps(out, default=lambda v: v.tolist()).encode("utf-8")
    return bytes(out), str(ctype), headers
