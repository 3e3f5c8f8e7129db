"""Least-privilege IAM policies generated from a plan's requests (never hand-listed).

`caller_policy` turns the requests a run sends (``AwsBackend.plan()``) into the
statements the *caller* needs: one action per operation, scoped to the exact resources the
requests name (bucket/prefix, job/model/endpoint names, functions, state machines), plus
``iam:PassRole`` on the execution role, restricted to the services it is passed to.

`execution_role_policy` derives what the *execution role* (assumed by SageMaker, Lambda,
Step Functions) needs from the same requests: reading the inputs and model artifacts they
name, writing the outputs and captures, pulling the images, writing logs, invoking the
functions and endpoints a state machine calls.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from smkit import uri as s3uri
from smkit.backends.aws.client import PlannedRequest

__all__ = ["caller_policy", "execution_role_policy", "iam_action", "policies_for"]

_S3_ACTIONS = {
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "DeleteObject": "s3:DeleteObject",
    "ListObjectsV2": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "CreateBucket": "s3:CreateBucket",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "PutBucketPolicy": "s3:PutBucketPolicy",
}
_PREFIX = {
    "stepfunctions": "states",
    "sagemaker-runtime": "sagemaker",
    "lambda": "lambda",
    "sagemaker": "sagemaker",
    "sts": "sts",
    "logs": "logs",
    "iam": "iam",
    "ecr": "ecr",
}

# SageMaker noun (as in CreateTrainingJob) -> ARN resource type
_SM_TYPES = {
    "TrainingJob": "training-job",
    "HyperParameterTuningJob": "hyper-parameter-tuning-job",
    "ProcessingJob": "processing-job",
    "Model": "model",
    "EndpointConfig": "endpoint-config",
    "Endpoint": "endpoint",
    "MonitoringSchedule": "monitoring-schedule",
    "DataQualityJobDefinition": "data-quality-job-definition",
    "ModelQualityJobDefinition": "model-quality-job-definition",
    "ModelExplainabilityJobDefinition": "model-explainability-job-definition",
    "ModelBiasJobDefinition": "model-bias-job-definition",
}
_VERB = re.compile(r"^(Create|Describe|Delete|Stop|Update|Start|List|Invoke)(.*)$")


def iam_action(service: str, operation: str) -> str:
    """The IAM action an API operation needs, e.g. ``s3.ListObjectsV2`` -> ``s3:ListBucket``."""
    if service == "s3":
        return _S3_ACTIONS.get(operation, f"s3:{operation}")
    return f"{_PREFIX.get(service, service)}:{operation}"


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def _s3_resources(operation: str, params: dict[str, Any]) -> list[str]:
    bucket = params.get("Bucket")
    if not bucket:
        return ["*"]
    key = params.get("Key")
    if key is not None:
        return [f"arn:aws:s3:::{bucket}/{key}"]
    return [f"arn:aws:s3:::{bucket}"]


def _sagemaker_resources(
    operation: str, params: dict[str, Any], region: str, account: str
) -> list[str]:
    if operation == "InvokeEndpoint":
        return [_arn("sagemaker", region, account, f"endpoint/{params['EndpointName'].lower()}")]
    match = _VERB.match(operation)
    if not match:
        return ["*"]
    noun = match.group(2)
    if match.group(1) == "List":
        return ["*"]
    rtype = _SM_TYPES.get(noun)
    name = params.get(f"{noun}Name")
    if rtype is None or not isinstance(name, str):
        return ["*"]
    return [_arn("sagemaker", region, account, f"{rtype}/{name.lower()}")]


def _resources(req: PlannedRequest, region: str, account: str) -> list[str]:
    p = req.params
    if req.service == "s3":
        return _s3_resources(req.operation, p)
    if req.service in ("sagemaker", "sagemaker-runtime"):
        return _sagemaker_resources(req.operation, p, region, account)
    if req.service == "lambda":
        name = p.get("FunctionName")
        return [_arn("lambda", region, account, f"function:{name}")] if name else ["*"]
    if req.service == "stepfunctions":
        if "stateMachineArn" in p:
            return [p["stateMachineArn"]]
        if "executionArn" in p:
            return [p["executionArn"]]
        if "name" in p:
            return [_arn("states", region, account, f"stateMachine:{p['name']}")]
    return ["*"]


def _collapse_s3(resources: set[str]) -> list[str]:
    """Object ARNs under one bucket become ``bucket/<common prefix>*``."""
    by_bucket: dict[str, list[str]] = defaultdict(list)
    out: list[str] = []
    for arn in resources:
        if arn.startswith("arn:aws:s3:::") and "/" in arn[len("arn:aws:s3:::") :]:
            bucket, _, key = arn[len("arn:aws:s3:::") :].partition("/")
            by_bucket[bucket].append(key)
        else:
            out.append(arn)
    for bucket, keys in by_bucket.items():
        if len(keys) == 1:
            out.append(f"arn:aws:s3:::{bucket}/{keys[0]}")
            continue
        prefix = _common_dir_prefix(keys)
        out.append(f"arn:aws:s3:::{bucket}/{prefix}*")
    return sorted(out)


def _common_dir_prefix(keys: list[str]) -> str:
    first, last = min(keys), max(keys)
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    common = first[:i]
    return common[: common.rfind("/") + 1] if "/" in common else common


def _statements(grouped: dict[str, set[str]]) -> list[dict[str, Any]]:
    # merge actions that share the same resource set into one statement
    by_resources: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for action, resources in grouped.items():
        res = (
            tuple(_collapse_s3(resources)) if action.startswith("s3:") else tuple(sorted(resources))
        )
        if "*" in res:
            res = ("*",)
        by_resources[res].add(action)
    out = []
    for res, actions in sorted(by_resources.items(), key=lambda kv: sorted(kv[1])):
        out.append(
            {
                "Effect": "Allow",
                "Action": sorted(actions),
                "Resource": list(res) if len(res) > 1 else res[0],
            }
        )
    return out


def _role_arns(requests: Iterable[PlannedRequest]) -> dict[str, set[str]]:
    """Role ARN -> services it is passed to."""
    passed: dict[str, set[str]] = defaultdict(set)
    for req in requests:
        for key, value in _walk(req.params):
            if (
                key in ("RoleArn", "ExecutionRoleArn", "Role", "roleArn")
                and isinstance(value, str)
                and value.startswith("arn:aws:iam::")
            ):
                service = {
                    "lambda": "lambda.amazonaws.com",
                    "stepfunctions": "states.amazonaws.com",
                }.get(req.service, "sagemaker.amazonaws.com")
                passed[value].add(service)
    return passed


def _walk(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from _walk(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v, key)


def caller_policy(
    requests: Iterable[PlannedRequest], *, region: str, account: str
) -> dict[str, Any]:
    """The IAM policy document the caller needs to send exactly these requests."""
    reqs = list(requests)
    grouped: dict[str, set[str]] = defaultdict(set)
    for req in reqs:
        if req.service == "sts" and req.operation == "GetCallerIdentity":
            continue  # needs no permission
        grouped[iam_action(req.service, req.operation)].update(_resources(req, region, account))
    statements = _statements(grouped)
    for role, services in sorted(_role_arns(reqs).items()):
        statements.append(
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": role,
                "Condition": {"StringEquals": {"iam:PassedToService": sorted(services)}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _walk_paths(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*path, k), v
            yield from _walk_paths(v, (*path, k))
    elif isinstance(value, list):
        for v in value:
            yield from _walk_paths(v, path)


def _is_output(path: tuple[str, ...]) -> bool:
    return path[-1] == "DestinationS3Uri" or any("Output" in part for part in path)


def execution_role_policy(
    requests: Iterable[PlannedRequest], *, region: str, account: str
) -> dict[str, Any]:
    """What the execution role needs for the jobs, endpoints and workflows these requests create.

    An ``s3://`` URI in a Create/Update request is an output when it sits under a key naming
    an output (``OutputDataConfig``, ``ProcessingOutputConfig``, ``DestinationS3Uri`` ...),
    otherwise an input.
    """
    read: set[str] = set()
    write: set[str] = set()
    images: set[str] = set()
    invoke_endpoints: set[str] = set()
    invoke_functions: set[str] = set()
    for req in requests:
        if not req.operation.startswith(("Create", "Update")):
            continue
        for path, value in _walk_paths(req.params):
            if not isinstance(value, str):
                continue
            if value.startswith("s3://"):
                (write if _is_output(path) else read).add(value)
            elif ".dkr.ecr." in value and path[-1] in ("Image", "TrainingImage", "ImageUri"):
                images.add(value)
        if req.service == "stepfunctions" and req.operation == "CreateStateMachine":
            definition = str(req.params.get("definition", ""))
            invoke_functions.update(re.findall(r"arn:aws:lambda:[^\"']+", definition))
            invoke_endpoints.update(re.findall(r'"EndpointName"\s*:\s*"([^"]+)"', definition))
    statements: list[dict[str, Any]] = []
    if read:
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": _collapse_s3({_obj_arn(u) + "*" for u in read}),
            }
        )
    if write:
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject"],
                "Resource": _collapse_s3({_obj_arn(u) + "*" for u in write}),
            }
        )
    buckets = sorted({s3uri.parse(u).bucket for u in read | write})
    if buckets:
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{b}" for b in buckets],
            }
        )
    if images:
        repos = sorted({_repo_arn(i) for i in images})
        statements.append(
            {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}
        )
        statements.append(
            {
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "Resource": repos,
            }
        )
    statements.append(
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [
                f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/*",
                f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/*",
            ],
        }
    )
    if invoke_functions:
        statements.append(
            {
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": sorted(invoke_functions),
            }
        )
    if invoke_endpoints:
        statements.append(
            {
                "Effect": "Allow",
                "Action": "sagemaker:InvokeEndpoint",
                "Resource": sorted(
                    _arn("sagemaker", region, account, f"endpoint/{e.lower()}")
                    for e in invoke_endpoints
                ),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _obj_arn(uri: str) -> str:
    bucket, key = s3uri.parse(uri)
    return f"arn:aws:s3:::{bucket}/{key}"


def _repo_arn(image: str) -> str:
    # 123456789012.dkr.ecr.us-east-1.amazonaws.com/repo/name:tag
    host, _, path = image.partition("/")
    account = host.split(".")[0]
    region = host.split(".")[3] if host.count(".") >= 3 else "*"
    repo = path.split("@")[0].rsplit(":", 1)[0]
    return f"arn:aws:ecr:{region}:{account}:repository/{repo}"


def policies_for(
    requests: Iterable[PlannedRequest], *, region: str, account: str
) -> dict[str, dict[str, Any]]:
    """Both documents: ``{"caller": ..., "execution_role": ...}``."""
    reqs = list(requests)
    return {
        "caller": caller_policy(reqs, region=region, account=account),
        "execution_role": execution_role_policy(reqs, region=region, account=account),
    }
