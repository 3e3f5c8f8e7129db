"""The ``script-mode-hpo`` use case from Python: tune a PyTorch script with Debugger and Profiler.

Run: ``python examples/script_mode_hpo.py [OUT_DIR]`` (quick mode: 4 trials on 600 rows, about
a minute or two on two cores; drop ``quick=True`` for the full run, 12 trials on 4,000 rows).
The shell equivalent is ``smkit run script-mode-hpo --quick --out out/script-mode-hpo``.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import smkit
from smkit.usecases import load_usecase

out = Path(sys.argv[1] if len(sys.argv) > 1 else "out/script-mode-hpo")
usecase = load_usecase("script-mode-hpo")
config = usecase.Config(quick=True)  # max_parallel_jobs=2, capped at the CPU count locally

with smkit.Session() as session:  # local backend under ./.smkit (or $SMKIT_HOME)
    report = usecase.run(session, config, out)
    report.write(out)

with open(out / "tuning.csv", newline="") as fh:
    for row in csv.DictReader(fh):
        print(f"trial {row['trial']}: lr={float(row['lr']):.2e} batch-size={row['batch-size']} "
              f"epochs={row['epochs']} val_loss={row['objective']}")  # fmt: skip
print("best:", report.metrics["best_hyperparameters"], "test MSE:", report.metrics["test_loss"])
for entry in json.loads((out / "rules.json").read_text()):
    print(entry["job"], {name: r["status"] for name, r in entry["rules"].items()})
print("profiler:", report.metrics["profiler"])
print("image check:", report.metrics["image_check"], "->", out / "image" / "Dockerfile")
print("report:", out / "report.html")
