"""Inference handlers: the SageMaker inference toolkit's hooks, with built-in defaults.

A `Handler` serves one model. It calls the four toolkit hooks in order:

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

Requests run as the SageMaker inference toolkit runs them (`smkit.backends.local.toolkit`):
``text/csv`` and ``application/json`` bodies reach the hooks as ``str``; a missing or
``*/*`` ``Accept`` becomes ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` (else
``application/json``); a hook taking one more argument gets the request ``context``; the
default ``output_fn`` encodes the prediction itself (JSON ``[0.0, 2.0]``, CSV, ``.npy``);
any exception answers 500. The PyTorch defaults are the PyTorch container's (TorchScript
``model_fn`` when a script is given, ``model.eval()`` and ``no_grad`` in ``predict_fn``,
any JSON shape). XGBoost and AutoGluon decode rows (2-D) as the XGBoost container does.

A hook may return ``(body, content_type, custom_attributes)``: the third item is sent back
as ``X-Amzn-SageMaker-Custom-Attributes`` (the header is echoed only when the model sets
it). During a request, `current_request` holds the request's ``custom_attributes``
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
    except (xgb.core.XGBoostError, UnicodeDecodeError, ValueError):
        # a pickled booster is not a native model file: xgboost may fail to parse it, or
        # fail to decode it as JSON text first
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


def _toolkit_pytorch_model_fn(model_dir: str) -> Any:
    """The PyTorch container's default ``model_fn``: TorchScript only, ``model.pt`` or the
    single ``.pt``/``.pth`` file at the top of ``model_dir``."""
    import os

    import torch

    path = os.path.join(model_dir, "model.pt")
    if not os.path.exists(path):
        files = [
            f
            for f in os.listdir(model_dir)
            if os.path.isfile(os.path.join(model_dir, f))
            and os.path.splitext(f)[1] in (".pt", ".pth")
        ]
        if len(files) != 1:
            raise ValueError(
                f"Exactly one .pth or .pt file is required for PyTorch models: {files}"
            )
        path = os.path.join(model_dir, files[0])
    try:
        return torch.jit.load(path, map_location="cpu")
    except RuntimeError as exc:
        raise ConfigError(
            f"Failed to load {path}. Please ensure model is saved using torchscript.",
            hint="save with torch.jit.script/trace, or define model_fn in the inference script",
        ) from exc


def _pytorch_input_fn(input_data: Any, content_type: str) -> Any:
    import torch

    from smkit.backends.local import toolkit

    arr = toolkit.decode(input_data, content_type)
    if content_type in toolkit.UTF8_TYPES:
        return torch.FloatTensor(arr)
    return torch.from_numpy(arr)


def _pytorch_predict_fn(data: Any, model: Any) -> Any:
    import torch

    with torch.no_grad():
        if hasattr(model, "eval"):
            model.eval()  # dropout / batch-norm in inference mode, as the container does
        return model(data)


def _pytorch_output_fn(prediction: Any, accept: str) -> Any:
    from smkit.backends.local import toolkit

    if hasattr(prediction, "detach"):
        prediction = prediction.detach().cpu().numpy().tolist()
    for ctype in toolkit.parse_accept(accept):
        if ctype in toolkit.ENCODABLE:
            out = toolkit.encode(prediction, ctype)
            return out.encode("utf-8") if ctype == CSV else out  # the body only
    raise toolkit.UnsupportedFormatError(accept)


def _generic_input_fn(input_data: Any, content_type: str) -> Any:
    from smkit.backends.local import toolkit

    return toolkit.decode(input_data, content_type)


def _rows_input_fn(input_data: Any, content_type: str) -> Any:
    """XGBoost / AutoGluon: always rows (the XGBoost container builds a DMatrix)."""
    if isinstance(input_data, str):
        input_data = input_data.encode("utf-8")
    return decode_array(input_data, content_type)


def _no_predict_fn(data: Any, model: Any) -> Any:
    raise NotImplementedError("Please provide a predict_fn implementation.")


def _defaults(framework: str, scripted: bool) -> dict[str, Any]:
    """The framework container's default hooks (``scripted``: the user gave a script)."""
    from smkit.backends.local import toolkit

    out: dict[str, Any] = {
        "model_fn": _LOADERS.get(framework),
        "input_fn": _generic_input_fn,
        "predict_fn": _predict_default(framework) if framework in _LOADERS else _no_predict_fn,
        "output_fn": toolkit.default_output_fn,
    }
    if framework == "pytorch":
        out.update(
            input_fn=_pytorch_input_fn,
            predict_fn=_pytorch_predict_fn,
            output_fn=_pytorch_output_fn,
        )
        if scripted:
            out["model_fn"] = _toolkit_pytorch_model_fn
    elif framework in ("xgboost", "autogluon"):
        out["input_fn"] = _rows_input_fn
    elif framework == "sklearn":
        if scripted:
            out["model_fn"] = None  # the scikit-learn container has no default model_fn
        else:
            # no script: smkit's own convenience (SageMaker cannot serve this), rows as for
            # XGBoost so that a single CSV row is one sample
            out["input_fn"] = _rows_input_fn
    return out


class Handler:
    """One loaded model and the hooks that serve it, run as the inference toolkit runs them
    (see `smkit.backends.local.toolkit`).

    Args:
        model_dir: The extracted ``model.tar.gz``.
        framework: One of `smkit.serving.FRAMEWORKS`.
        entry_point: Inference script with toolkit hooks (optional for built-ins).
        source_dir: Directory of the script.

    Raises:
        ConfigError: the script defines ``transform_fn`` together with ``input_fn``,
            ``predict_fn`` or ``output_fn`` (the toolkit refuses to start), or nothing can
            load the model.
    """

    def __init__(
        self,
        model_dir: str | Path,
        framework: str,
        entry_point: str | None = None,
        source_dir: str | None = None,
    ) -> None:
        from smkit.backends.local.toolkit import ServingContext, call_hook

        self.model_dir = Path(model_dir)
        self.framework = framework
        user = load_user_module(entry_point, source_dir, self.model_dir) if entry_point else None
        self.user = user

        def hook(name: str) -> Any:
            return getattr(user, name, None) if user is not None else None

        defaults = _defaults(framework, scripted=user is not None)
        self.transform_fn = hook("transform_fn")
        if self.transform_fn is not None and any(
            hook(n) for n in ("input_fn", "predict_fn", "output_fn")
        ):
            raise ConfigError(
                "Cannot use transform_fn implementation in conjunction with input_fn, "
                "predict_fn, and/or output_fn implementation",
                hint="define either transform_fn or the input_fn/predict_fn/output_fn hooks",
            )
        model_fn = hook("model_fn") or defaults["model_fn"]
        if model_fn is None:
            raise ConfigError(
                f"the inference script {entry_point!r} defines no model_fn and framework "
                f"{framework!r} has no default one on SageMaker",
                hint="define model_fn(model_dir) in the script",
            )
        self.input_fn = hook("input_fn") or defaults["input_fn"]
        self.predict_fn = hook("predict_fn") or defaults["predict_fn"]
        self.output_fn = hook("output_fn") or defaults["output_fn"]
        self.context = ServingContext(str(self.model_dir))
        self._call = call_hook
        self.model = call_hook(model_fn, (str(self.model_dir),), self.context)

    def default_accept(self, content_type: str | None = None) -> str:
        """The answer's type when ``Accept`` is missing or ``*/*``."""
        from smkit.backends.local.toolkit import default_accept

        return default_accept()

    def _transform(self, body: Any, content_type: str, accept: str) -> Any:
        ctx = self.context
        if self.transform_fn is not None:
            return self._call(self.transform_fn, (self.model, body, content_type, accept), ctx)
        data = self._call(self.input_fn, (body, content_type), ctx)
        prediction = self._call(self.predict_fn, (data, self.model), ctx)
        return self._call(self.output_fn, (prediction, accept), ctx)

    def serve(
        self,
        body: bytes,
        content_type: str | None,
        accept: str | None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes, str, dict[str, str]]:
        """Serve one request; returns ``(status, body, content_type, headers)``.

        Raises:
            Exception: whatever a hook raised (the container answers it with
                `error_answer`).
        """
        from smkit.backends.local import toolkit

        req = dict(headers or {})
        if content_type is not None:
            req.setdefault("Content-Type", content_type)
        if accept is not None:
            req.setdefault("Accept", accept)
        self.context.set_request(req)
        if not accept or accept == toolkit.ANY:
            accept = toolkit.default_accept()
        data: Any = body
        if content_type in toolkit.UTF8_TYPES:
            data = body.decode("utf-8")
        status, out, ctype, extra = toolkit.normalize_result(
            self._transform(data, content_type or "", accept), accept
        )
        resp = self.context._response
        if "content_type" in resp:
            ctype = resp["content_type"]
        if "status" in resp:
            status = resp["status"]
        extra.update(resp.get("headers") or {})
        return status, out, ctype, extra

    def respond(
        self,
        body: bytes,
        content_type: str | None,
        accept: str | None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes, str, dict[str, str]]:
        """`serve`, answering an exception as the container does (500 and the
        message with its traceback), never raising."""
        from smkit.backends.local import toolkit

        try:
            return self.serve(body, content_type, accept, headers)
        except RequestError as exc:  # smkit's own row decoder (XGBoost, AutoGluon) refused
            doc = {"code": exc.code, "message": exc.message}
            return exc.status, json.dumps(doc).encode(), JSON, {}
        except Exception as exc:
            status, text = toolkit.error_answer(exc)
            return status, text, "text/plain; charset=utf-8", {}

    def __call__(
        self, body: bytes, content_type: str, accept: str | None
    ) -> tuple[bytes, str, dict[str, str]]:
        """Serve one request; returns the body, its content type and extra headers.

        Raises:
            Exception: whatever the model or a hook raised (a model error), or
                `RequestError` when a hook answered an error status.
        """
        status, out, ctype, extra = self.serve(body, content_type, accept)
        if status >= 300:
            raise RequestError(status, "ModelError", out.decode("utf-8", "replace"))
        return out, ctype, extra
