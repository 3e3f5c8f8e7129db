"""Differential tests: smkit's endpoint against the real SageMaker inference toolkit.

The same model directory, inference script and request go through

- smkit: :class:`~smkit.backends.local.endpoint_server.EndpointApp` serving a
  :class:`~smkit.backends.local.handlers.Handler` (the ASGI app the endpoint process runs,
  driven in-process), and
- the reference: ``sagemaker_inference.transformer.Transformer`` (what the model server
  calls per request) with the PyTorch container's ``DefaultPytorchInferenceHandler``, or,
  for scikit-learn and XGBoost, whose container handlers are not published as packages, a
  ``DefaultInferenceHandler`` encoding their documented defaults (scikit-learn: no default
  ``model_fn``, ``model.predict``; XGBoost: the booster loaded natively or from a pickle,
  rows in a ``DMatrix``).

Status, ``Content-Type`` and body must be equal (errors: status and the message line).
"""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import os
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sagemaker_inference")

from sagemaker_inference.default_inference_handler import (
    DefaultInferenceHandler,
)
from sagemaker_inference.transformer import Transformer

from smkit.backends.local.endpoint_server import EndpointApp
from smkit.backends.local.handlers import Handler
from smkit.errors import ConfigError

CSV, JSON, NPY = "text/csv", "application/json", "application/x-npy"
X = [[0.5, 1.0, -1.5, 2.0], [1.5, -0.5, 0.25, 0.0]]


def _npy(arr: Any) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(arr))
    return buf.getvalue()


# -- reference side ---------------------------------------------------------------------
class SklearnDocumented(DefaultInferenceHandler):
    """The scikit-learn container's defaults (no default model_fn; ``model.predict``)."""

    def default_predict_fn(self, data, model):
        return model.predict(data)


class XGBoostDocumented(DefaultInferenceHandler):
    """The XGBoost container's defaults: native or pickled booster, rows in a DMatrix."""

    def default_model_fn(self, model_dir):
        import pickle

        import xgboost as xgb

        path = os.path.join(model_dir, "xgboost-model")
        try:
            booster = xgb.Booster()
            booster.load_model(path)
            return booster
        except Exception:
            with open(path, "rb") as fh:
                return pickle.load(fh)

    def default_input_fn(self, input_data, content_type):
        import xgboost as xgb

        if content_type == CSV:
            return xgb.DMatrix(np.loadtxt(io.StringIO(input_data), delimiter=",", ndmin=2))
        if content_type == JSON:
            return xgb.DMatrix(np.atleast_2d(np.array(json.loads(input_data), dtype=float)))
        return super().default_input_fn(input_data, content_type)

    def default_predict_fn(self, data, model):
        return model.predict(data)


class _Processor:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers

    def get_request_properties(self) -> dict[str, str]:
        return self.headers


class MMSContext:
    """The model server's context, as much of it as the Transformer uses."""

    def __init__(self, model_dir: str) -> None:
        self.system_properties = {"model_dir": model_dir, "gpu_id": None}
        self.request_processor = [_Processor({})]
        self.status = 200
        self.content_type: str | None = None

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.content_type = value

    def set_response_status(self, code: int = 200, phrase: str = "") -> None:
        self.status = code


def _wire(out: Any) -> bytes:
    """What the model server sends for a handler's return value."""
    if isinstance(out, str):
        return out.encode("utf-8")
    if isinstance(out, bytes | bytearray):
        return bytes(out)
    return json.dumps(out, indent=2).encode("utf-8")


def reference(
    case: Case, model_dir: Path, code_dir: Path, req: tuple[bytes, str, str | None]
) -> tuple[int, str | None, bytes]:
    body, ctype, accept = req
    handler = {
        "pytorch": _pytorch_default,
        "sklearn": SklearnDocumented,
        "xgboost": XGBoostDocumented,
    }[case.framework]()
    module = f"diff_{uuid.uuid4().hex[:10]}"
    if case.script is not None:
        (code_dir / f"{module}.py").write_text(textwrap.dedent(case.script))
    sys.path.insert(0, str(code_dir))
    old = dict(os.environ)
    os.environ["SAGEMAKER_PROGRAM"] = f"{module}.py"
    os.environ.update(case.env)
    try:
        ctx = MMSContext(str(model_dir))
        headers = {"Content-Type": ctype}
        if accept is not None:
            headers["Accept"] = accept
        ctx.request_processor = [_Processor(headers)]
        t = Transformer(default_inference_handler=handler)
        out = t.transform([{"body": body}], ctx)
        return ctx.status, ctx.content_type, _wire(out[0])
    finally:
        os.environ.clear()
        os.environ.update(old)
        sys.path.remove(str(code_dir))
        sys.modules.pop(module, None)
        importlib.invalidate_caches()


def _pytorch_default():
    from sagemaker_pytorch_serving_container.default_pytorch_inference_handler import (
        DefaultPytorchInferenceHandler,
    )

    return DefaultPytorchInferenceHandler()


# -- smkit side ---------------------------------------------------------------------------
def _asgi(app: Any, body: bytes, ctype: str, accept: str | None) -> tuple[int, str, bytes]:
    headers = [(b"content-type", ctype.encode())]
    if accept is not None:
        headers.append((b"accept", accept.encode()))
    scope = {"type": "http", "path": "/invocations", "method": "POST", "headers": headers}
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(msg: dict) -> None:
        sent.append(msg)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    hdrs = {k.decode(): v.decode() for k, v in start["headers"]}
    out = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], hdrs.get("content-type", ""), out


def smkit_side(
    case: Case, model_dir: Path, code_dir: Path, req: tuple[bytes, str, str | None]
) -> tuple[int, str | None, bytes]:
    entry = None
    if case.script is not None:
        entry = f"smkit_{uuid.uuid4().hex[:10]}.py"
        (code_dir / entry).write_text(textwrap.dedent(case.script))
    old = dict(os.environ)
    os.environ.update(case.env)
    try:
        handler = Handler(model_dir, case.framework, entry_point=entry, source_dir=str(code_dir))
        return _asgi(EndpointApp(handler), *req)
    finally:
        os.environ.clear()
        os.environ.update(old)


# -- the models ---------------------------------------------------------------------------
def _sklearn_model(d: Path) -> None:
    import joblib
    from sklearn.linear_model import LinearRegression

    x = np.array([[1, 0, 0, 1], [0, 1, 0, 2], [0, 0, 1, 3], [1, 1, 1, 0], [2, 0, 1, 1]], float)
    joblib.dump(LinearRegression().fit(x, x @ [1.0, 2.0, -1.0, 0.5] + 0.25), d / "model.joblib")


def _torch_model(d: Path) -> None:
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 2))
    net.train()  # saved in training mode: only model.eval() turns dropout off
    torch.jit.script(net).save(str(d / "model.pt"))
    torch.save(net.state_dict(), d / "weights.pth.tar")


def _xgb_model(d: Path) -> None:
    import pickle

    import xgboost as xgb

    x = np.array(X * 10) + np.arange(20).reshape(-1, 1) * 0.1
    booster = xgb.train(
        {"nthread": 1, "max_depth": 2, "seed": 0},
        xgb.DMatrix(x, label=x[:, 0] * 2),
        num_boost_round=5,
    )
    (d / "xgboost-model").write_bytes(pickle.dumps(booster))  # as the container pickles it


MODELS = {"sklearn": _sklearn_model, "pytorch": _torch_model, "xgboost": _xgb_model}

SK_MODEL_FN = """
import os, joblib
def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
"""

SCRIPTS: dict[str, tuple[str, str | None, dict[str, str]]] = {
    # name: (framework, script, env)
    "sklearn-defaults": ("sklearn", SK_MODEL_FN, {}),
    "sklearn-default-accept-env": (
        "sklearn",
        SK_MODEL_FN,
        {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": CSV},
    ),
    "sklearn-input_fn-featurizer": (
        "sklearn",
        SK_MODEL_FN
        + """
import io, numpy as np
def input_fn(body, content_type):
    if not isinstance(body, str):
        raise ValueError("expected text, got %s" % type(body).__name__)
    return np.loadtxt(io.StringIO(body), delimiter=",", ndmin=2)
""",
        {},
    ),
    "sklearn-predict_fn": (
        "sklearn",
        SK_MODEL_FN
        + """
def predict_fn(data, model):
    return model.predict(data.reshape(-1, 4)) * 10
""",
        {},
    ),
    "sklearn-output_fn": (
        "sklearn",
        SK_MODEL_FN
        + """
import json
def output_fn(prediction, accept):
    return json.dumps({"accept": accept, "n": len(prediction)})
""",
        {},
    ),
    "sklearn-output_fn-tuple": (
        "sklearn",
        SK_MODEL_FN
        + """
def output_fn(prediction, accept):
    return ",".join("%.3f" % p for p in prediction), "text/csv"
""",
        {},
    ),
    "sklearn-transform_fn": (
        "sklearn",
        SK_MODEL_FN
        + """
import json, numpy as np
def transform_fn(model, body, content_type, accept):
    if isinstance(body, str):
        rows = np.array(json.loads(body))
    else:
        rows = np.load(__import__("io").BytesIO(body))
    y = model.predict(np.atleast_2d(rows)).round(4).tolist()
    return json.dumps({"y": y, "accept": accept})
""",
        {},
    ),
    "sklearn-hooks-with-context": (
        "sklearn",
        """
import os, io, joblib, numpy as np
def model_fn(model_dir, context):
    assert context.system_properties["model_dir"] == model_dir
    return joblib.load(os.path.join(model_dir, "model.joblib"))
def input_fn(body, content_type, context):
    return np.loadtxt(io.StringIO(body), delimiter=",", ndmin=2)
def predict_fn(data, model, context):
    props = context.request_processor[0].get_request_properties()
    return model.predict(data) + (100 if "Accept" in props or "accept" in props else 0)
def output_fn(prediction, accept, context=None):
    return ",".join("%.2f" % p for p in prediction), accept
""",
        {},
    ),
    "sklearn-errors": (
        "sklearn",
        SK_MODEL_FN
        + """
from sagemaker_inference.errors import GenericInferenceToolkitError
def input_fn(body, content_type):
    if content_type != "text/csv":
        raise GenericInferenceToolkitError(415, "only text/csv, please")
    if body.startswith("boom"):
        raise ValueError("negative input")
    import io, numpy as np
    return np.loadtxt(io.StringIO(body), delimiter=",", ndmin=2)
""",
        {},
    ),
    "pytorch-defaults": ("pytorch", "", {}),
    "pytorch-model_fn-state-dict": (
        "pytorch",
        """
import os, torch
def model_fn(model_dir):
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 2))
    net.load_state_dict(torch.load(os.path.join(model_dir, "weights.pth.tar")))
    return net  # left in training mode: the default predict_fn must call eval()
""",
        {},
    ),
    "xgboost-pickled-booster": ("xgboost", None, {}),
}

SK_REQUESTS = {
    "csv-no-accept": ("1,0,0,1\n0,1,0,2\n", CSV, None),
    "csv-any-accept": ("1,0,0,1\n0,1,0,2\n", CSV, "*/*"),
    "csv-to-csv": ("1,0,0,1\n0,1,0,2\n", CSV, CSV),
    "json-to-json": (json.dumps(X), JSON, JSON),
    "json-to-csv": (json.dumps(X), JSON, CSV),
    "npy-to-npy": (_npy(X), NPY, NPY),
    "npy-no-accept": (_npy(X), NPY, None),
    "accept-list": (json.dumps(X), JSON, "application/xml, text/csv"),
    "bad-accept": (json.dumps(X), JSON, "application/xml"),
    "bad-content-type": ("hello", "text/plain", None),
    "bad-json": ("[1, 2", JSON, JSON),
}
PT_REQUESTS = {
    "json-1d": (json.dumps(X[0]), JSON, None),
    "json-2d": (json.dumps(X), JSON, JSON),
    "json-3d": (json.dumps([X, X]), JSON, JSON),
    "csv-to-csv": ("1,0,0,1\n0,1,0,2\n", CSV, CSV),
    "npy-float32": (_npy(np.array(X, np.float32)), NPY, NPY),
    "npy-to-json": (_npy(np.array(X, np.float32)), NPY, JSON),
}
XGB_REQUESTS = {
    "csv-rows": ("1,0,0,1\n0,1,0,2\n", CSV, None),
    "csv-one-row": ("1,0,0,1\n", CSV, CSV),
    "json-rows": (json.dumps(X), JSON, JSON),
}
PER_SCRIPT = {
    "sklearn-defaults": SK_REQUESTS,
    "sklearn-default-accept-env": {k: SK_REQUESTS[k] for k in ("csv-no-accept", "json-to-json")},
    "sklearn-input_fn-featurizer": {
        k: SK_REQUESTS[k] for k in ("csv-no-accept", "csv-to-csv", "npy-to-npy")
    },
    "sklearn-predict_fn": {k: SK_REQUESTS[k] for k in ("json-to-json", "csv-to-csv")},
    "sklearn-output_fn": {
        k: SK_REQUESTS[k] for k in ("csv-no-accept", "csv-to-csv", "accept-list")
    },
    "sklearn-output_fn-tuple": {k: SK_REQUESTS[k] for k in ("csv-no-accept", "json-to-json")},
    "sklearn-transform_fn": {
        k: SK_REQUESTS[k] for k in ("json-to-json", "npy-to-npy", "csv-any-accept")
    },
    "sklearn-hooks-with-context": {k: SK_REQUESTS[k] for k in ("csv-no-accept", "csv-to-csv")},
    "sklearn-errors": {
        "ok": SK_REQUESTS["csv-to-csv"],
        "toolkit-error-status": SK_REQUESTS["json-to-json"],
        "model-error": ("boom,1,2,3\n", CSV, CSV),
    },
    "pytorch-defaults": PT_REQUESTS,
    "pytorch-model_fn-state-dict": {k: PT_REQUESTS[k] for k in ("json-2d", "json-1d")},
    "xgboost-pickled-booster": XGB_REQUESTS,
}


class Case:
    def __init__(self, name: str) -> None:
        self.name = name
        self.framework, self.script, self.env = SCRIPTS[name]


MATRIX = [(s, r) for s, reqs in PER_SCRIPT.items() for r in reqs]


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("sagemaker_pytorch_serving_container")
    out = {}
    for fw, build in MODELS.items():
        d = tmp_path_factory.mktemp(f"model-{fw}")
        build(d)
        out[fw] = d
    return out


def _first_line(body: bytes) -> str:
    return body.decode("utf-8", "replace").split("\n", 1)[0]


@pytest.mark.parametrize(("script", "request_name"), MATRIX, ids=[f"{s}:{r}" for s, r in MATRIX])
def test_same_answer_as_the_toolkit(script, request_name, model_dirs, tmp_path):
    case = Case(script)
    body, ctype, accept = PER_SCRIPT[script][request_name]
    req = (body.encode() if isinstance(body, str) else body, ctype, accept)
    model_dir = model_dirs[case.framework]
    (tmp_path / "ref").mkdir()
    (tmp_path / "smkit").mkdir()
    ref = reference(case, model_dir, tmp_path / "ref", req)
    got = smkit_side(case, model_dir, tmp_path / "smkit", req)
    assert got[0] == ref[0], (got, ref)
    if ref[0] == 200:
        assert got[1] == ref[1]
        assert got[2] == ref[2]
    else:
        assert _first_line(got[2]) == _first_line(ref[2])


def test_pytorch_default_predict_is_deterministic(model_dirs, tmp_path):
    """Four identical requests, one answer: the default predict_fn turns dropout off."""
    case = Case("pytorch-defaults")
    req = (json.dumps(X).encode(), JSON, JSON)
    answers = {smkit_side(case, model_dirs["pytorch"], tmp_path, req)[2] for _ in range(4)}
    assert len(answers) == 1


def test_transform_fn_with_other_hooks_is_refused(model_dirs, tmp_path):
    script = SK_MODEL_FN + textwrap.dedent(
        """
        def transform_fn(model, body, content_type, accept):
            return body
        def input_fn(body, content_type):
            return body
        """
    )
    SCRIPTS["sklearn-transform-and-input"] = ("sklearn", script, {})
    try:
        case = Case("sklearn-transform-and-input")
        req = (b"1,0,0,1\n", CSV, None)
        status, _, body = reference(case, model_dirs["sklearn"], tmp_path, req)
        assert status == 500 and b"Cannot use transform_fn" in body  # the toolkit refuses
        with pytest.raises(ConfigError, match="Cannot use transform_fn"):
            smkit_side(case, model_dirs["sklearn"], tmp_path, req)
    finally:
        del SCRIPTS["sklearn-transform-and-input"]


def test_legacy_worker_response_is_sent_as_is(model_dirs, tmp_path):
    """``worker.Response`` (a Flask response) from output_fn: its body, type and status, as
    the scikit-learn and XGBoost containers (sagemaker-containers) send it."""
    flask = pytest.importorskip("flask")
    script = SK_MODEL_FN + textwrap.dedent(
        """
        import flask
        class Response(flask.Response):  # sagemaker_containers.beta.framework.worker.Response
            pass
        def output_fn(prediction, accept):
            return Response(",".join("%.1f" % p for p in prediction), status=200,
                            mimetype="text/csv")
        """
    )
    SCRIPTS["sklearn-worker-response"] = ("sklearn", script, {})
    try:
        case = Case("sklearn-worker-response")
        status, ctype, body = smkit_side(
            case, model_dirs["sklearn"], tmp_path, (b"1,0,0,1\n0,1,0,2\n", CSV, CSV)
        )
        assert flask is not None
        import joblib

        model = joblib.load(model_dirs["sklearn"] / "model.joblib")
        pred = model.predict(np.array([[1, 0, 0, 1], [0, 1, 0, 2]]))
        want = ",".join(f"{p:.1f}" for p in pred)
        assert (status, ctype, body) == (200, "text/csv; charset=utf-8", want.encode())
    finally:
        del SCRIPTS["sklearn-worker-response"]
