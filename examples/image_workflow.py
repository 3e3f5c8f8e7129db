"""The ``image-workflow`` use case from Python: train, deploy, classify through Step Functions.

Run: ``python examples/image_workflow.py [OUT_DIR]`` (quick mode: about a minute on two cores;
drop ``quick=True`` for the full run). The shell equivalent is
``smkit run image-workflow --quick --out out/image-workflow``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import smkit
from smkit.usecases import load_usecase

out = Path(sys.argv[1] if len(sys.argv) > 1 else "out/image-workflow")
usecase = load_usecase("image-workflow")
config = usecase.Config(quick=True)  # threshold: 0.5 in quick mode, 0.9 in the full run

with smkit.Session() as session:  # local backend under ./.smkit (or $SMKIT_HOME)
    report = usecase.run(session, config, out)
    report.write(out)

print({k: report.metrics[k] for k in ("test_accuracy", "executions", "succeeded", "failed")})
for execution in json.loads((out / "executions.json").read_text()):
    body = (execution["output"] or {}).get("body", {})
    print(
        f"{execution['status']:<9} {execution['true_label']:<8} "
        f"{execution['error'] or body.get('label', '')}"
    )
print("report:", out / "report.html")
