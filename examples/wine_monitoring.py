"""Run the ``wine-monitoring`` flagship through Python and print what it found.

Run: ``python examples/wine_monitoring.py`` (local backend, under a temporary root; about
20-60 seconds in quick mode). The same as ``smkit run wine-monitoring --quick``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import smkit
from smkit.usecases import load_usecase

tmp = Path(tempfile.mkdtemp(prefix="smkit-wine-"))
usecase = load_usecase("wine-monitoring")
config = usecase.Config(quick=True, drift_features=("alcohol", "proline"), drift_sigmas=3.0)

with smkit.Session(root=tmp / "root") as session:
    report = usecase.run(session, config, tmp / "out")
paths = report.write(tmp / "out")

for window in report.details["windows"]:
    print(
        f"{window['window']:<11} {window['status']['DataQuality']:<24}"
        f" drift on {window['drifted_features'] or '-'}"
        f"  accuracy {window['accuracy']}  retrain: {window['retrain']}"
    )
for row in report.details.get("before_after", []):
    print(
        f"{row['evaluation set']:<20} accuracy {row['accuracy before']} -> {row['accuracy after']}"
    )
print("report:", paths["html"])
