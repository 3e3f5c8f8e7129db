"""The ``review-endpoint`` use case from Python: clean, stage, train, deploy, score, tear down.

Run: ``python examples/review_endpoint.py [OUT_DIR] [CSV]`` (quick mode: well under a minute
on two cores; drop ``quick=True`` for the full C grid). ``CSV`` is e.g. Kaggle's
``Womens Clothing E-Commerce Reviews.csv``; without it the shipped synthetic sample is used.
The shell equivalent is ``smkit run review-endpoint --quick --out out/review-endpoint``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import smkit
from smkit.usecases import load_usecase

out = Path(sys.argv[1] if len(sys.argv) > 1 else "out/review-endpoint")
data = sys.argv[2] if len(sys.argv) > 2 else None
usecase = load_usecase("review-endpoint")
config = usecase.Config(
    quick=True, data=data, text_column="Review Text", label_column="Recommended IND"
)

with smkit.Session() as session:  # local backend under ./.smkit (or $SMKIT_HOME)
    report = usecase.run(session, config, out)
    report.write(out)

m = report.metrics
print("preprocessing:", json.dumps(m["preprocessing"]))
print(f"channels: {m['rows']}")
print(f"test split ({m['test_rows']} reviews, from the endpoint's answers):")
print(f"  ROC AUC {m['test_auc']:.3f}  F1 {m['test_f1']:.3f}  accuracy {m['test_accuracy']:.3f}")
print(f"  confusion matrix: {m['confusion_matrix']}")
print("predictions:", out / "predictions.csv")
print("report:", out / "report.html")
