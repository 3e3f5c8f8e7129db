import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from smkit.report import Report, redact


def test_report_writes_json_html_and_pngs(tmp_path):
    r = Report(name="demo", title="Demo")
    with r.timer("phase"):
        r.metrics["auc"] = np.float64(0.93)
        r.metrics["nested"] = {"a": 1, "nan": float("nan")}
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    r.add_figure("A plot", fig)
    r.add_table("Rows", [{"x": 1, "y": "two"}])
    r.add_mermaid("Flow", "flowchart LR\n a --> b")
    paths = r.write(tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["metrics"] == {"auc": 0.93, "nested": {"a": 1, "nan": None}}
    assert data["timings"]["phase"] >= 0 and data["machine"]["cores"] >= 1
    html = paths["html"].read_text()
    assert "data:image/png;base64," in html and "<td>two</td>" in html and "a --&gt; b" in html
    assert (tmp_path / "a-plot.png").read_bytes()[:4] == b"\x89PNG"


def test_secrets_never_reach_reports(tmp_path):
    r = Report(name="s")
    r.details["env"] = {
        "AWS_SECRET_ACCESS_KEY": "abc/def",
        "aws_session_token": "tok",
        "region": "eu-west-1",
    }
    r.details["log"] = "using key AKIAABCDEFGHIJKLMNOP and Authorization: Bearer abc.def"
    r.add_text("note", "token AKIAABCDEFGHIJKLMNOP")
    paths = r.write(tmp_path)
    text = paths["json"].read_text() + paths["html"].read_text()
    for secret in ("abc/def", "AKIAABCDEFGHIJKLMNOP", "Bearer abc.def", '"tok"'):
        assert secret not in text
    assert "eu-west-1" in text
    assert redact({"password": None}) == {"password": None}
