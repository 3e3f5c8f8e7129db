import json
import subprocess
import sys

HEAVY = [
    "sagemaker",
    "boto3",
    "botocore",
    "torch",
    "autogluon",
    "xgboost",
    "shap",
    "pandas",
    "numpy",
    "matplotlib",
    "sklearn",
]


def test_import_smkit_is_light():
    code = (
        "import sys, json, smkit; s = smkit.Session; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}  # no AWS region, no credentials
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(out.stdout) == []
