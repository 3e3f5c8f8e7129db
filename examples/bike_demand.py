"""The ``bike-demand`` use case from Python: stage, train with AutoGluon, submit, serve.

Run: ``python examples/bike_demand.py [OUT_DIR] [--full]``. The default here is quick mode
(LightGBM on the last six months, under a minute on two cores); ``--full`` trains AutoGluon
on all of train.csv (about five to six minutes). The shell equivalent is
``smkit run bike-demand --quick --set serve=true --out out/bike-demand``.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import smkit
from smkit.usecases import load_usecase

args = [a for a in sys.argv[1:] if not a.startswith("--")]
out = Path(args[0] if args else "out/bike-demand")
usecase = load_usecase("bike-demand")
# serve=True deploys the trained model, predicts test rows through it, then deletes it
config = usecase.Config(quick="--full" not in sys.argv, serve=True)

with smkit.Session() as session:  # local backend under ./.smkit (or $SMKIT_HOME)
    report = usecase.run(session, config, out)
    report.write(out)

m = report.metrics
print(f"trainer {m['trainer']} on targets {m['targets']}")
print(f"validation RMSLE {m['validation_rmsle']:.4f} on {m['rows']['validation']} held-out rows")
print(f"endpoint vs submission: max |diff| {m['endpoint_parity_max_abs_diff']}")
with open(out / "submission.csv", newline="") as fh:
    rows = list(csv.reader(fh))
print(f"submission.csv: {len(rows) - 1} rows, e.g. {rows[1]}")
print("report:", out / "report.html")
