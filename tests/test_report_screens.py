"""The six use-case reports in a real headless browser (issue 19).

Each report is built by the report builder from realistic run results (numbers taken from
quick runs), then rendered by Chromium at 1280x900: the headline verdict and its key
numbers must sit on the first screen, diagrams must be drawn by the inlined mermaid, and the
page must load nothing remote. Screenshots go to pytest's tmp dir (``screens/``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from smkit import Session
from smkit.report import Report, fmt_number
from smkit.usecases import build_config, load_usecase
from smkit.usecases._run import describe_run

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
    None,
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium)"),
]
WIDTH, HEIGHT = 1280, 900
REMOTE = re.compile(r"""(?:\b(?:src|href)\s*=\s*["']?|url\(\s*["']?)(?:https?:)?//""", re.I)

_FLOW = "flowchart LR\n  a[data] --> b[training job] --> c[endpoint] --> d[metrics]"


def _hist(shift: float = 0.0) -> tuple[list[float], list[float]]:
    edges = [i + shift for i in range(11)]
    weights = [1, 2, 4, 7, 9, 9, 7, 4, 2, 1]
    total = sum(weights)
    return edges, [w / total for w in weights]


def _wine(r: Report) -> None:
    features = ["prediction", "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium",
                "total_phenols", "flavanoids", "nonflavanoid_phenols", "proanthocyanins",
                "color_intensity", "hue", "od280/od315", "proline"]  # fmt: skip
    r.metrics.update(
        normal_violations=0, normal_drifted_features=[], drifted_features=["alcohol", "proline"],
        drifted_violations=4, accuracy_normal=0.9630, accuracy_drifted=0.6590909090909091,
        ndcg_normal=0.98, ndcg_drifted=0.71, retraining_triggered=True,
        accuracy_before_validation_drifted=0.6590909090909091,
        accuracy_after_validation_drifted=0.9318,
    )  # fmt: skip
    r.details["drift_threshold"] = 0.3137
    from smkit.usecases.wine_monitoring import _FLOW as WINE_FLOW

    r.add_mermaid("The flow", WINE_FLOW)
    r.add_drift_table(
        "Drift per feature: baseline vs the latest window",
        [
            {
                "feature": f,
                "test": "KS distance",
                "statistic": 0.52 if f in ("alcohol", "proline") else 0.08 + i / 100,
                "threshold": 0.3137,
                "drifted": f in ("alcohol", "proline"),
                "baseline": _hist(),
                "current": _hist(2.5 if f in ("alcohol", "proline") else 0.2),
            }
            for i, f in enumerate(features)
        ],
    )
    r.add_table("Violations", [{"window": "drifted-1", "monitor": "DataQuality",
                                "check": "baseline_drift_check",
                                "description": "Baseline drift distance: 0.52 +/- 0.0 exceeds "
                                "threshold: 0.3137"}])  # fmt: skip


def _review(r: Report) -> None:
    r.metrics.update(
        rows={"train": 335, "validation": 112, "test": 112}, test_auc=0.926901, test_f1=0.912752,
        test_accuracy=0.883929, test_precision=0.931507, test_recall=0.894737, test_rows=112,
        threshold=0.5, serving_parity_auc_diff=0.0,
    )  # fmt: skip
    r.add_mermaid("Flow", _FLOW)
    r.add_table("Test split", [{"metric": "AUC", "value": 0.926901}])


def _bike(r: Report) -> None:
    r.metrics.update(
        rows={"train": 2303, "validation": 432}, validation_rmsle=0.29228, validation_rmse=60.511,
        train_seconds=7.5, trainer="lightgbm", leaderboard_models=3, submission_rows=6493,
        submission_mean_count=231.45,
    )  # fmt: skip
    r.add_mermaid("Flow", _FLOW)


def _image(r: Report) -> None:
    r.metrics.update(
        images={"train": 600, "val": 90, "test": 60}, executions=8, succeeded=6, failed=2,
        below_threshold=2, workflow_accuracy=0.875, accuracy_of_passed=1.0, test_accuracy=0.9,
        captured_requests=8,
    )  # fmt: skip
    r.add_mermaid("State machine", "flowchart TB\n  A[Preprocess] --> B[Infer] --> C{Check}")


def _hpo(r: Report) -> None:
    r.metrics.update(
        rows=600, trials=4, trials_completed=4, objective_failed=0, tuning_status="Completed",
        best_objective=0.04213, best_hyperparameters={"lr": 0.0123456, "batch-size": 32},
        test_loss=0.05101, test_r2=0.949, rule_issues=0, rule_evaluations=10, image_check="ok",
    )  # fmt: skip
    r.add_code("Dockerfile", "FROM python:3.11-slim\nCOPY code /opt/ml/code\nENV X=1\n")


def _pneumonia(r: Report) -> None:
    r.metrics.update(
        test_auc=0.675, test_ece_before=0.1712, test_ece_after=0.0431, test_brier_before=0.25,
        test_brier_after=0.22, calibration_method="platt", test_images=300, threshold=0.4,
        test_sensitivity_at_threshold=0.9, test_specificity_at_threshold=0.31,
    )  # fmt: skip


CASES: dict[str, Any] = {
    "wine-monitoring": _wine,
    "review-endpoint": _review,
    "bike-demand": _bike,
    "image-workflow": _image,
    "script-mode-hpo": _hpo,
    "pneumonia-calibration": _pneumonia,
}

#: Appended to a copy of each page: where the headline ends, and whether diagrams drew.
_PROBE = """<script>window.addEventListener('load', function () { setTimeout(function () {
  var h = document.getElementById('headline').getBoundingClientRect();
  document.body.setAttribute('data-headline-bottom', String(Math.round(h.bottom)));
  document.body.setAttribute('data-diagrams', String(document.querySelectorAll(
    '.diagram svg').length));
}, 300); });</script>"""


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--window-size={WIDTH},{HEIGHT}", "--virtual-time-budget=8000", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screens")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", sorted(CASES))
def test_first_screen_states_the_outcome_and_its_numbers(
    name: str, screens: Path, tmp_path: Path
) -> None:
    usecase = load_usecase(name)
    config = build_config(usecase, {"seed": "7"} if name != "bike-demand" else {}, quick=True)
    report = Report(name=name, title=f"{name} (fixture)")
    CASES[name](report)
    report.artifacts["model_data"] = f"s3://smkit/{name}-job/output/model.tar.gz"
    report.timings.update(train=12.3456, total=40.0)
    with Session("local", root=str(tmp_path / "home")) as session:
        describe_run(report, usecase, config, {"seed": "7"}, session)
    assert report.verdict, "the use case's summary set no headline"
    out = tmp_path / name
    page_path = report.write(out)["html"]
    page = page_path.read_text()
    assert not REMOTE.search(page), REMOTE.search(page)

    probe = out / "probe.html"
    head, _, tail = page.rpartition("</body>")  # the last one: mermaid's code holds others
    probe.write_text(head + _PROBE + "</body>" + tail)
    dom = _chromium("--dump-dom", probe.as_uri()).stdout
    assert 'id="headline"' in dom, dom[:500]
    headline = dom[dom.index('id="headline"') : dom.index('id="settings"')]
    assert report.verdict.split(":")[0][:40] in headline.replace("&amp;", "&")
    shown = [fmt_number(n["value"]) for n in report.key_numbers if n["value"] is not None]
    assert 3 <= len(shown) <= 5, report.key_numbers
    for text in shown:
        assert f">{text}<" in headline, (text, headline[:2000])
    bottom = int(re.search(r'data-headline-bottom="(\d+)"', dom).group(1))
    assert bottom <= HEIGHT, f"the headline ends at {bottom}px, below the first screen"
    diagrams = sum(kind == "mermaid" for _, kind, _ in report.sections)
    assert int(re.search(r'data-diagrams="(\d+)"', dom).group(1)) == diagrams
    assert not REMOTE.search(dom)
    if name == "pneumonia-calibration":  # a deliberately weak quick run is not a plain pass
        assert "Succeeded with caveats" in headline and "Quick run" in headline
    if name == "wine-monitoring":
        assert dom.count("<svg") >= 14 + 1  # a distribution per feature, plus the flow
    shot = screens / f"{name}.png"
    _chromium(f"--screenshot={shot}", page_path.as_uri())
    assert shot.stat().st_size > 20_000


@pytest.mark.timeout(600)
def test_a_real_quick_run_report_leads_with_its_numbers(tmp_path: Path, screens: Path) -> None:
    """One real run (review-endpoint is the cheapest, ~10 s): the page as the CLI wrote it."""
    import json

    from smkit.cli import main

    out = tmp_path / "review"
    assert main(["run", "review-endpoint", "--quick", "--out", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert not REMOTE.search(page)
    data = json.loads((out / "report.json").read_text())
    head, _, tail = page.rpartition("</body>")
    probe = out / "probe.html"
    probe.write_text(head + _PROBE + "</body>" + tail)
    dom = _chromium("--dump-dom", probe.as_uri()).stdout
    headline = dom[dom.index('id="headline"') : dom.index('id="settings"')]
    assert "AUC" in headline and data["headline"]["verdict"][:30] in headline
    for n in data["headline"]["key_numbers"]:
        assert f">{fmt_number(n['value'])}<" in headline
    assert int(re.search(r'data-headline-bottom="(\d+)"', dom).group(1)) <= HEIGHT
    assert int(re.search(r'data-diagrams="(\d+)"', dom).group(1)) == 1
    settings = dom[dom.index('id="settings"') :]
    assert ">quick<" in settings and "local (" in settings
    artifacts = dom[dom.index('id="artifacts"') :]
    assert "s3://smkit/review-endpoint" in artifacts and "/s3/smkit/review-endpoint" in artifacts
    shot = screens / "review-endpoint-real.png"
    _chromium(f"--screenshot={shot}", (out / "report.html").as_uri())
    assert shot.stat().st_size > 20_000
