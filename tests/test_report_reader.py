"""Reports work offline and lead with the answer (issue 19)."""

import json
import re
from pathlib import Path

import pytest

import smkit.report as report_mod
from smkit.report import Report, fmt_number, human_label, plural

#: A remote resource: an src/href (or CSS url) that points off the machine.
REMOTE = re.compile(r"""(?:\b(?:src|href)\s*=\s*["']?|url\(\s*["']?)(?:https?:)?//""", re.I)


def remote_resources(page: str) -> list[str]:
    return [page[m.start() : m.start() + 80] for m in REMOTE.finditer(page)]


def test_mermaid_is_shipped_with_its_licence_and_version():
    static = Path(report_mod.__file__).parent / "_static" / "mermaid"
    js = (static / "mermaid.min.js").read_text()
    assert len(js) > 1_000_000 and "mermaid" in js[:400]
    assert "MIT" in (static / "LICENSE").read_text()
    assert (static / "VERSION").read_text().strip() == "10.9.8"


def test_report_with_diagram_inlines_mermaid_and_loads_nothing_remote(tmp_path):
    r = Report(name="demo", title="Demo")
    r.add_mermaid("Flow", "flowchart LR\n a --> b")
    page = r.write(tmp_path)["html"].read_text()
    assert "cdn.jsdelivr" not in page and "<script type='module'>" not in page
    assert remote_resources(page) == []
    assert "mermaid.initialize(" in page and "useMaxWidth:false" in page
    assert "a --&gt; b" in page  # the source stays readable if scripts are off
    # a page without diagrams carries no script at all
    plain = Report(name="plain").to_html()
    assert "<script" not in plain


def test_remote_detector_finds_remote_resources():
    assert remote_resources("<img src='https://x.example/a.png'>")
    assert remote_resources('<link href="//cdn.example/a.css">')
    assert remote_resources("<style>a{background:url(https://x/y)}</style>")
    assert not remote_resources("<img src='data:image/png;base64,AAAA'>")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.6590909090909091, "0.659"),
        (12345.6, "12,346"),
        (3.0, "3"),
        (0.0, "0"),
        (1234, "1,234"),
        (True, "yes"),
        (None, "–"),
        (float("nan"), "–"),
        (0.000012345, "1.23e-05"),
        (42.123, "42.1"),
    ],
)
def test_fmt_number_rounds_for_people(value, text):
    assert fmt_number(value) == text


def test_plural_and_labels():
    assert plural(1, "violation") == "1 violation"
    assert plural(0, "violation") == "0 violations"
    assert plural(3, "query", "queries") == "3 queries"
    assert human_label("validation_rmsle") == "Validation RMSLE"
    assert human_label("job_train_error") == "Job train error"


def test_headline_first_raw_metrics_once_and_collapsed(tmp_path):
    r = Report(name="demo", title="Demo")
    r.metrics.update(auc=0.6749999, job_train_error=0.1234567, drifted_features=[])
    r.headline(
        "The model separates the classes moderately.",
        [("test AUC", r.metrics["auc"], "quick run")],
        next_steps=["Run without --quick."],
    )
    r.add_caveat("A quick run trains on 5% of the data.")
    r.artifacts["model_data"] = "s3://smkit/demo/model.tar.gz"
    r.artifact_paths["model_data"] = "/tmp/x/s3/smkit/demo/model.tar.gz"
    r.add_code("Dockerfile", "FROM python:3.11\nRUN pip install x\n")
    paths = r.write(tmp_path)
    page = paths["html"].read_text()
    headline = page[page.index("id='headline'") : page.index("id='settings'")]
    assert "The model separates the classes moderately." in headline
    assert "0.675" in headline and "test AUC" in headline
    assert "Succeeded with caveats" in headline and "5% of the data" in headline
    assert "Run without --quick." in headline
    assert "0.6749999" not in page and "0.1234567" not in page
    # raw keys appear once, in the collapsed section at the end
    assert page.count("job_train_error") == 1
    assert page.index("job_train_error") > page.index("<details id='all-metrics'>")
    assert "/tmp/x/s3/smkit/demo/model.tar.gz" in page
    assert "FROM python:3.11\nRUN pip install x" in page  # multi-line code block
    data = json.loads(paths["json"].read_text())
    assert data["headline"]["level"] == "warn"
    assert data["headline"]["key_numbers"][0]["label"] == "test AUC"


def test_drift_table_draws_every_feature():
    r = Report(name="d")
    rows = [
        {
            "feature": f"f{i}",
            "test": "L-infinity distance",
            "statistic": 0.05 * i,
            "threshold": 0.1,
            "drifted": 0.05 * i > 0.1,
            "baseline": ([0, 1, 2], [0.5, 0.5]),
            "current": ([0, 1, 2], [0.2, 0.8]),
        }
        for i in range(13)
    ]
    r.add_drift_table("Drift", rows)
    page = r.to_html()
    assert page.count("<svg") == 13
    assert page.count("<tr class='drifted'>") == 10
