"""The generated IAM policies authorise every planned request of every use case, and
nothing outside their prefixes (IAM wildcard semantics, see ``policy.allows``)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from smkit.backends.aws.policy import (
    PRINCIPALS,
    allows,
    planned_permissions,
    policies_for,
    role_requests,
)

USECASES = (
    "bike-demand",
    "image-workflow",
    "pneumonia-calibration",
    "review-endpoint",
    "script-mode-hpo",
    "wine-monitoring",
)
ACCOUNT = "111122223333"
REGION = "eu-west-1"
BUCKET = "bkt-policy"
ROLES = {
    "role": f"arn:aws:iam::{ACCOUNT}:role/sm-exec",
    "lambda_role": f"arn:aws:iam::{ACCOUNT}:role/fn-exec",
    "states_role": f"arn:aws:iam::{ACCOUNT}:role/sfn-exec",
}


def _plan(name: str, tmp: Path) -> list:
    from smkit.session import Session
    from smkit.usecases import build_config, load_usecase

    usecase = load_usecase(name)
    config = build_config(usecase, {}, quick=True)
    session = Session("aws", plan=True, region=REGION, account=ACCOUNT, bucket=BUCKET, **ROLES)
    usecase.run(session, config, tmp)
    return session.plan()


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict[str, tuple[list, list]]:
    """Each use case planned twice, a second apart (a later run's names differ)."""
    out = {}
    for name in USECASES:
        first = _plan(name, tmp_path_factory.mktemp(name))
        time.sleep(1.1)
        out[name] = (first, _plan(name, tmp_path_factory.mktemp(name)))
    return out


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", USECASES)
def test_policies_allow_every_planned_request_and_later_runs(plans, name):
    first, later = plans[name]
    docs = policies_for(first, region=REGION, account=ACCOUNT)
    caller = docs["caller"]
    for run in (first, later):  # the policy from the first plan also authorises a later run
        for action, resource in planned_permissions(run, region=REGION, account=ACCOUNT):
            assert allows(caller, action, resource), (action, resource)
        for kind, pairs in role_requests(run, region=REGION, account=ACCOUNT).items():
            policy = docs["roles"][kind]["PermissionPolicy"]
            for action, resource in pairs:
                assert allows(policy, action, resource), (kind, action, resource)
    # three distinct roles, each passed only to its own service
    used = set(docs["roles"])
    assert "sagemaker" in used
    for kind, entry in docs["roles"].items():
        arn = entry["RoleArn"]
        assert arn == ROLES[{"sagemaker": "role"}.get(kind, f"{kind}_role")]
        principal = entry["TrustPolicy"]["Statement"][0]["Principal"]["Service"]
        assert principal == PRINCIPALS[kind]
        ctx = {"iam:PassedToService": PRINCIPALS[kind]}
        assert allows(caller, "iam:PassRole", arn, ctx)
        for other in set(PRINCIPALS.values()) - {PRINCIPALS[kind]}:
            assert not allows(caller, "iam:PassRole", arn, {"iam:PassedToService": other})
    if name == "image-workflow":
        assert used == {"sagemaker", "lambda", "states"}


@pytest.mark.parametrize("name", USECASES)
def test_nothing_outside_the_prefixes_is_allowed(plans, name):
    docs = policies_for(plans[name][0], region=REGION, account=ACCOUNT)
    caller = docs["caller"]
    outside = [
        ("s3:PutObject", "arn:aws:s3:::someone-elses-bucket/x"),
        ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/zz-outside/x"),
        ("s3:GetObject", f"arn:aws:s3:::{BUCKET}/zz-outside/x"),
        ("s3:DeleteObject", f"arn:aws:s3:::{BUCKET}/zz-outside/x"),
        ("sagemaker:CreateTrainingJob", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/zz"),
        ("sagemaker:DeleteEndpoint", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/zz"),
        ("sagemaker:CreateModel", f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:model/zz"),
        ("lambda:UpdateFunctionCode", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:zz"),
        ("states:StartExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:zz"),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin"),
        ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/x"),
    ]
    for action, resource in outside:
        ctx = {"iam:PassedToService": "sagemaker.amazonaws.com"}
        assert not allows(caller, action, resource, ctx), (action, resource)
    role_outside = [
        ("s3:PutObject", "arn:aws:s3:::someone-elses-bucket/x"),
        ("s3:GetObject", f"arn:aws:s3:::{BUCKET}/zz-outside/x"),
        ("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:zz"),
        ("sagemaker:InvokeEndpoint", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/zz"),
        ("sagemaker:CreateTrainingJob", "*"),
    ]
    for kind, entry in docs["roles"].items():
        for action, resource in role_outside:
            assert not allows(entry["PermissionPolicy"], action, resource), (kind, action)


def test_each_role_gets_what_its_service_does(plans):
    first, _ = plans["image-workflow"]
    pairs = role_requests(first, region=REGION, account=ACCOUNT)
    functions = {r.params["FunctionName"] for r in first if r.operation == "CreateFunction"}
    invoked = {res.rsplit(":", 1)[-1] for a, res in pairs["states"] if a == "lambda:InvokeFunction"}
    assert invoked == functions and len(functions) == 3
    assert any(a == "sagemaker:InvokeEndpoint" for a, _ in pairs["lambda"])
    assert any(a == "s3:GetObject" for a, _ in pairs["lambda"])  # the images executions read
    wine, _ = plans["wine-monitoring"]
    sm = role_requests(wine, region=REGION, account=ACCOUNT)["sagemaker"]
    assert "sagemaker:InvokeEndpoint" in {a for a, _ in sm}  # Clarify calls the endpoint


@pytest.mark.parametrize("name", USECASES)
def test_no_bucket_wide_or_star_object_grants(plans, name):
    docs = policies_for(plans[name][0], region=REGION, account=ACCOUNT)
    documents = [docs["caller"]] + [e["PermissionPolicy"] for e in docs["roles"].values()]
    for doc in documents:
        for st in doc["Statement"]:
            actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
            resources = [st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"]
            if any(a.startswith("s3:") for a in actions):
                assert "*" not in resources
                assert f"arn:aws:s3:::{BUCKET}/*" not in resources, (name, actions)
            if any(
                a.startswith(("sagemaker:Create", "lambda:Create", "states:Create"))
                for a in actions
            ):
                assert "*" not in resources
