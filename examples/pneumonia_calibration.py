"""The ``pneumonia-calibration`` use case from Python: train, calibrate, deploy, measure.

Run: ``python examples/pneumonia_calibration.py [OUT_DIR] [DATA_DIR]`` (quick mode: one to
two minutes on two cores; drop ``quick=True`` for the full run). ``DATA_DIR`` is a folder in
Kaggle's "Chest X-Ray Images (Pneumonia)" layout; without it a synthetic set is generated.
The shell equivalent is ``smkit run pneumonia-calibration --quick --out out/pneumonia``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import smkit
from smkit.usecases import load_usecase

out = Path(sys.argv[1] if len(sys.argv) > 1 else "out/pneumonia-calibration")
data = sys.argv[2] if len(sys.argv) > 2 else None
usecase = load_usecase("pneumonia-calibration")
config = usecase.Config(quick=True, data=data, sensitivity=0.95)

with smkit.Session() as session:  # local backend under ./.smkit (or $SMKIT_HOME)
    report = usecase.run(session, config, out)
    report.write(out)

cal = json.loads((out / "calibration.json").read_text())
print(f"calibrator chosen on validation: {cal['method']}")
for name in ("ece", "brier", "log_loss"):
    print(f"{name:>8}: {cal[name + '_before']:.4f} -> {cal[name + '_after']:.4f}")
thr = cal["threshold"]
print(
    f"threshold {thr['calibrated_probability']:.3f} for sensitivity "
    f"{thr['target_sensitivity']}: test sensitivity {thr['test']['sensitivity']:.3f}, "
    f"specificity {thr['test']['specificity']:.3f}"
)
print("report:", out / "report.html")
