"""Least-privilege IAM policies generated from a plan's requests (never hand-listed).

Three roles and the caller, each scoped by *prefix wildcards* that stay valid for later runs
(a run's names carry a timestamp; ``wine-2026-12-03-10-15-36-675`` becomes ``wine-*``):

- `caller_policy`: what the *caller* (the user or CI running smkit) needs: every
  operation the plan sends, plus the ones a real run sends that a plan cannot record
  (``Describe*`` while waiting, ``DescribeExecution`` / ``GetExecutionHistory``,
  ``InvokeEndpoint``, Lambda's ``GetFunctionConfiguration`` waits and updates, ``Delete*``
  for cleanup, ``s3:ListBucket`` so a missing key answers 404 instead of 403, bucket
  creation), and ``iam:PassRole`` on each role, restricted to the service it is passed to;
- `sagemaker_role_policy`: the SageMaker execution role (trusted by
  ``sagemaker.amazonaws.com``): reading inputs and models, writing outputs and captures,
  pulling images, logs and metrics, invoking the endpoint Clarify explains;
- `lambda_role_policy`: the Lambda functions' role (``lambda.amazonaws.com``): logs,
  invoking the endpoints their environment names, reading the objects executions name;
- `states_role_policy`: the state machines' role (``states.amazonaws.com``):
  invoking the functions (and endpoints) the definition calls.

`trust_policy` gives each role's trust document, `policies_for` all of them, and
`allows` evaluates a policy document for one action and resource with IAM's wildcard
semantics (``*`` any run of characters, ``?`` one; actions case-insensitive, resources
case-sensitive), which the tests use to prove every planned request is allowed.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from smkit import uri as s3uri
from smkit.backends.aws.client import PlannedRequest

__all__ = [
    "allows",
    "caller_policy",
    "execution_role_policy",
    "generalize",
    "iam_action",
    "lambda_role_policy",
    "planned_permissions",
    "policies_for",
    "role_requests",
    "sagemaker_role_policy",
    "states_role_policy",
    "trust_policy",
    "wildcard_match",
]

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
#: The service principal of each role.
PRINCIPALS = {
    "sagemaker": "sagemaker.amazonaws.com",
    "lambda": "lambda.amazonaws.com",
    "states": "states.amazonaws.com",
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
_JOBS = {"TrainingJob", "HyperParameterTuningJob", "ProcessingJob"}
_VERB = re.compile(r"^(Create|Describe|Delete|Stop|Update|Start|List|Invoke)(.*)$")
_NAME_PARAM = {"MonitoringSchedule": "MonitoringScheduleName"}
#: Timestamps smkit (and the SDK) put in names: 2026-12-03-10-15-36-675, 20261203-101533,
#: 261203-101533; and uuid4 execution names.
_STAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}(?:-\d{3})?|\d{8}-\d{6}|\d{6}-\d{6}"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


# -- IAM wildcard semantics -----------------------------------------------------------------
def wildcard_match(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    """IAM's wildcard match: ``*`` any run of characters (``/`` and ``:`` included), ``?``
    exactly one; everything else literal (no ``[...]`` classes, unlike `fnmatch`)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    return re.fullmatch(regex, value, flags) is not None


def _as_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value or [])


def allows(
    policy: dict[str, Any],
    action: str,
    resource: str,
    context: dict[str, str] | None = None,
) -> bool:
    """Whether ``policy`` allows ``action`` on ``resource`` (an explicit Deny wins).

    Conditions: ``StringEquals`` / ``StringLike`` against ``context`` (a key the context
    lacks fails the condition, as in IAM).
    """
    allowed = False
    for st in policy.get("Statement", []):
        if not any(wildcard_match(a, action, case_sensitive=False) for a in _as_list(st["Action"])):
            continue
        if not any(wildcard_match(r, resource) for r in _as_list(st["Resource"])):
            continue
        if not _conditions_hold(st.get("Condition") or {}, context or {}):
            continue
        if st.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


def _conditions_hold(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    for op, pairs in conditions.items():
        for key, expected in pairs.items():
            if key not in context:
                return False
            value = context[key]
            if op == "StringEquals":
                ok = value in _as_list(expected)
            elif op == "StringLike":
                ok = any(wildcard_match(p, value) for p in _as_list(expected))
            else:
                return False  # an operator this evaluator does not know never holds
            if not ok:
                return False
    return True


# -- generalising names -----------------------------------------------------------------------
def generalize(name: str) -> str:
    """``name`` with everything from its first timestamp on replaced by ``*`` (a later run's
    names share the prefix), e.g. ``wine-2026-12-03-10-15-36-675-model`` -> ``wine-*``."""
    match = _STAMP.search(name)
    return name if match is None else name[: match.start()] + "*"


def iam_action(service: str, operation: str) -> str:
    """The IAM action an API operation needs, e.g. ``s3.ListObjectsV2`` -> ``s3:ListBucket``."""
    if service == "s3":
        return _S3_ACTIONS.get(operation, f"s3:{operation}")
    return f"{_PREFIX.get(service, service)}:{operation}"


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def _s3_key_pattern(key: str) -> str:
    """An object key as a reusable pattern: its first folder (``wine-monitoring/*``), or the
    key up to its first timestamp (``job-2026-...-1/source/x`` -> ``job-*``)."""
    general = generalize(key)
    head, sep, _ = general.partition("/")
    if sep and "*" not in head:
        return f"{head}/*"
    return general


def _s3_resources(params: dict[str, Any], *, exact: bool = False) -> list[str]:
    bucket = params.get("Bucket")
    if not bucket:
        return ["*"]
    key = params.get("Key")
    if key is not None:
        return [f"arn:aws:s3:::{bucket}/{key if exact else _s3_key_pattern(key)}"]
    return [f"arn:aws:s3:::{bucket}"]


def _sm_name_param(noun: str) -> str:
    return _NAME_PARAM.get(noun, f"{noun}Name")


def _sagemaker_resources(
    operation: str, params: dict[str, Any], region: str, account: str, *, exact: bool = False
) -> list[str]:
    fix = (lambda n: n) if exact else generalize
    if operation == "InvokeEndpoint":
        return [
            _arn("sagemaker", region, account, f"endpoint/{fix(params['EndpointName'].lower())}")
        ]
    match = _VERB.match(operation)
    if not match or match.group(1) == "List":
        return ["*"]
    noun = match.group(2)
    if noun == "JobDefinition":
        return ["*"]
    rtype = _SM_TYPES.get(noun)
    name = params.get(_sm_name_param(noun)) or params.get("JobDefinitionName")
    if rtype is None or not isinstance(name, str):
        return ["*"]
    return [_arn("sagemaker", region, account, f"{rtype}/{fix(name.lower())}")]


def _resources(req: PlannedRequest, region: str, account: str, *, exact: bool = False) -> list[str]:
    """The resource ARNs of one request: ``exact`` as the request names them (what IAM
    checks), else generalised into the pattern a policy grants."""
    p = req.params
    fix = (lambda n: n) if exact else generalize
    if req.service == "s3":
        return _s3_resources(p, exact=exact)
    if req.service in ("sagemaker", "sagemaker-runtime"):
        return _sagemaker_resources(req.operation, p, region, account, exact=exact)
    if req.service == "lambda":
        name = p.get("FunctionName")
        return [_arn("lambda", region, account, f"function:{fix(name)}")] if name else ["*"]
    if req.service == "stepfunctions":
        if "stateMachineArn" in p:
            return [fix(p["stateMachineArn"])]
        if "executionArn" in p:
            return [fix(p["executionArn"])]
        if "name" in p:
            return [_arn("states", region, account, f"stateMachine:{fix(p['name'])}")]
    if req.service == "logs":
        group = p.get("logGroupName")
        if group:
            return [_arn("logs", region, account, f"log-group:{group}:*")]
    return ["*"]


def planned_permissions(
    requests: Iterable[PlannedRequest], *, region: str, account: str
) -> list[tuple[str, str]]:
    """``(IAM action, exact resource ARN)`` of every planned request that needs one."""
    out = []
    for req in requests:
        if req.service == "sts" and req.operation == "GetCallerIdentity":
            continue  # needs no permission
        action = iam_action(req.service, req.operation)
        out.extend((action, r) for r in _resources(req, region, account, exact=True))
    return out


# -- statements --------------------------------------------------------------------------------
def _covered(pattern: str, others: set[str]) -> bool:
    return any(o != pattern and wildcard_match(o, pattern) for o in others)


def _statements(grouped: dict[str, set[str]]) -> list[dict[str, Any]]:
    # drop resources another wildcard of the same action covers; merge actions sharing the
    # same resource set into one statement
    by_resources: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for action, resources in grouped.items():
        res = tuple(sorted(r for r in resources if not _covered(r, resources)))
        if "*" in res:
            res = ("*",)
        by_resources[res].add(action)
    out = []
    for res, actions in sorted(by_resources.items(), key=lambda kv: sorted(kv[1])):
        out.append(
            {
                "Effect": "Allow",
                "Action": sorted(actions) if len(actions) > 1 else sorted(actions)[0],
                "Resource": list(res) if len(res) > 1 else res[0],
            }
        )
    return out


def _doc(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def _walk(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from _walk(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v, key)


_ROLE_KEYS = ("RoleArn", "ExecutionRoleArn", "Role", "roleArn")


def _role_service(req: PlannedRequest) -> str:
    return {"lambda": "lambda", "stepfunctions": "states"}.get(req.service, "sagemaker")


def role_arns(requests: Iterable[PlannedRequest]) -> dict[str, str]:
    """``role kind (sagemaker / lambda / states) -> role ARN`` passed in the requests."""
    out: dict[str, str] = {}
    for req in requests:
        for key, value in _walk(req.params):
            if key in _ROLE_KEYS and isinstance(value, str) and value.startswith("arn:aws:iam::"):
                out.setdefault(_role_service(req), value)
    return out


def _follow_ups(req: PlannedRequest, region: str, account: str) -> dict[str, list[str]]:
    """Actions a real run sends after ``req`` that a plan cannot record (waits, reads back,
    cleanup, redeploys), with their resources."""
    out: dict[str, list[str]] = {}
    res = _resources(req, region, account)
    op = req.operation
    if req.service == "sagemaker":
        match = _VERB.match(op)
        noun = match.group(2) if match else ""
        if op.startswith("Create") and noun in _SM_TYPES:
            out[f"sagemaker:Describe{noun}"] = res
            out[f"sagemaker:Delete{noun}"] = res
            if noun in _JOBS:
                out[f"sagemaker:Stop{noun}"] = res
            out["sagemaker:AddTags"] = res
        if op == "CreateEndpoint":
            out["sagemaker:InvokeEndpoint"] = res
            out["sagemaker:UpdateEndpoint"] = res
        if op == "CreateMonitoringSchedule":
            for verb in ("Start", "Stop", "Update"):
                out[f"sagemaker:{verb}MonitoringSchedule"] = res
        if op == "CreateHyperParameterTuningJob":
            trials = generalize(req.params["HyperParameterTuningJobName"].lower())
            trials = trials if trials.endswith("*") else trials + "-*"
            trial_arn = [_arn("sagemaker", region, account, f"training-job/{trials}")]
            out["sagemaker:DescribeTrainingJob"] = trial_arn
            out["sagemaker:StopTrainingJob"] = trial_arn
        if op == "CreateTrainingJob":
            out["logs:FilterLogEvents"] = [
                _arn("logs", region, account, "log-group:/aws/sagemaker/TrainingJobs:*")
            ]
    elif req.service == "lambda" and op == "CreateFunction":
        for action in (
            "GetFunction",
            "GetFunctionConfiguration",
            "UpdateFunctionCode",
            "UpdateFunctionConfiguration",
            "DeleteFunction",
        ):
            out[f"lambda:{action}"] = res
    elif req.service == "stepfunctions" and op == "CreateStateMachine":
        out["states:UpdateStateMachine"] = res
        out["states:DescribeStateMachine"] = res
        out["states:DeleteStateMachine"] = res
        out["states:StartExecution"] = res
        name = generalize(req.params["name"])
        execution = [_arn("states", region, account, f"execution:{name}:*")]
        for action in ("DescribeExecution", "GetExecutionHistory", "StopExecution"):
            out[f"states:{action}"] = execution
    elif req.service == "stepfunctions" and op == "StartExecution":
        sm = generalize(req.params["stateMachineArn"].rsplit(":", 1)[-1])
        execution = [_arn("states", region, account, f"execution:{sm}:*")]
        for action in ("DescribeExecution", "GetExecutionHistory", "StopExecution"):
            out[f"states:{action}"] = execution
    elif req.service == "s3" and req.params.get("Bucket"):
        bucket_arn = f"arn:aws:s3:::{req.params['Bucket']}"
        # without ListBucket S3 answers 403 (not 404) for a missing key, and a first upload
        # that checks for the object fails
        out["s3:ListBucket"] = [bucket_arn]
        for action in (
            "s3:CreateBucket",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutEncryptionConfiguration",
            "s3:PutBucketPolicy",
        ):
            out[action] = [bucket_arn]
        if "Key" in req.params:
            out["s3:GetObject"] = res  # read back, HeadObject before re-uploads
            out["s3:AbortMultipartUpload"] = res
    return out


def caller_policy(
    requests: Iterable[PlannedRequest], *, region: str, account: str
) -> dict[str, Any]:
    """The caller's policy: every planned request and its follow-ups, by prefix wildcards,
    plus ``iam:PassRole`` on each role restricted to its service."""
    reqs = list(requests)
    grouped: dict[str, set[str]] = defaultdict(set)
    for req in reqs:
        if req.service == "sts" and req.operation == "GetCallerIdentity":
            continue
        grouped[iam_action(req.service, req.operation)].update(_resources(req, region, account))
        for action, res in _follow_ups(req, region, account).items():
            grouped[action].update(res)
    if any(r.service == "sagemaker" for r in reqs):
        for action in ("ListEndpoints", "ListTrainingJobs", "ListMonitoringSchedules",
                       "ListMonitoringExecutions", "ListHyperParameterTuningJobs",
                       "ListTrainingJobsForHyperParameterTuningJob"):  # fmt: skip
            grouped[f"sagemaker:{action}"].add("*")
        # a monitoring execution's processing job is named by SageMaker, not by smkit
        grouped["sagemaker:DescribeProcessingJob"].add(
            _arn("sagemaker", region, account, "processing-job/*")
        )
    statements = _statements(grouped)
    by_role: dict[str, set[str]] = defaultdict(set)
    for req in reqs:
        for key, value in _walk(req.params):
            if key in _ROLE_KEYS and isinstance(value, str) and value.startswith("arn:aws:iam::"):
                by_role[value].add(PRINCIPALS[_role_service(req)])
    for role, services in sorted(by_role.items()):
        statements.append(
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": role,
                "Condition": {"StringEquals": {"iam:PassedToService": sorted(services)}},
            }
        )
    return _doc(statements)


def trust_policy(service: str) -> dict[str, Any]:
    """The trust (assume-role) policy of a role assumed by ``service``
    (``sagemaker`` / ``lambda`` / ``states``)."""
    return _doc(
        [
            {
                "Effect": "Allow",
                "Principal": {"Service": PRINCIPALS[service]},
                "Action": "sts:AssumeRole",
            }
        ]
    )


# -- what each role does ----------------------------------------------------------------------
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


def _obj_arn(uri: str, *, exact: bool = False) -> str:
    bucket, key = s3uri.parse(uri)
    if not exact:
        key = generalize(key)
        if not key.endswith("*"):
            key += "*"
    return f"arn:aws:s3:::{bucket}/{key}"


def _definition_arns(definition: str, region: str, account: str) -> tuple[set[str], set[str]]:
    """Function ARNs and endpoint names a state machine definition calls: ``Resource``
    Lambda ARNs and the ``FunctionName`` / ``EndpointName`` parameters of service
    integrations (a bare function name becomes its ARN)."""
    try:
        data = json.loads(definition)
    except ValueError:
        data = {}
    functions: set[str] = set()
    endpoints: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            resource = node.get("Resource")
            if isinstance(resource, str) and resource.startswith("arn:aws:lambda:"):
                functions.add(resource)
            params = node.get("Parameters")
            if isinstance(params, dict):
                fn = params.get("FunctionName")
                if isinstance(fn, str):
                    functions.add(
                        fn
                        if fn.startswith("arn:")
                        else _arn("lambda", region, account, f"function:{fn}")
                    )
                ep = params.get("EndpointName")
                if isinstance(ep, str):
                    endpoints.add(ep)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(data)
    return functions, endpoints


def _start_input_uris(req: PlannedRequest) -> set[str]:
    """``s3://`` objects an execution's input names (``s3_bucket`` + ``s3_key`` or URIs)."""
    try:
        data = json.loads(req.params.get("input") or "{}")
    except ValueError:
        return set()
    out: set[str] = set()
    for _, value in _walk(data):
        if isinstance(value, str) and value.startswith("s3://"):
            out.add(value)
    if isinstance(data, dict) and data.get("s3_bucket") and data.get("s3_key"):
        out.add(f"s3://{data['s3_bucket']}/{data['s3_key']}")
    return out


def _job_output(req: PlannedRequest, path: str) -> str:
    """Where a training job (or a tuning job's trials) writes under ``S3OutputPath``:
    ``<path>/<job name>/`` (trials: ``<path>/<tuning job name>-NNN-xxxxxxxx/``)."""
    name = req.params.get("TrainingJobName")
    if name:
        return s3uri.join(path, name) + "/"
    tuning = req.params.get("HyperParameterTuningJobName")
    return s3uri.join(path, tuning) if tuning else path


def role_requests(
    requests: Iterable[PlannedRequest], *, region: str, account: str
) -> dict[str, list[tuple[str, str]]]:
    """``role kind -> [(action, exact resource)]``: what each role will do for the planned
    resources (read inputs, write outputs, invoke functions and endpoints)."""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for req in requests:
        if req.operation.startswith(("Create", "Update")) and req.service == "sagemaker":
            for path, value in _walk_paths(req.params):
                if isinstance(value, str) and value.startswith("s3://"):
                    action = "s3:PutObject" if _is_output(path) else "s3:GetObject"
                    if path[-2:] == ("OutputDataConfig", "S3OutputPath"):
                        value = _job_output(req, value)
                    out["sagemaker"].append((action, _obj_arn(value, exact=True)))
            if req.operation == "CreateModelExplainabilityJobDefinition":
                name = req.params["ModelExplainabilityJobInput"]["EndpointInput"]["EndpointName"]
                out["sagemaker"].append(
                    (
                        "sagemaker:InvokeEndpoint",
                        _arn("sagemaker", region, account, f"endpoint/{name.lower()}"),
                    )
                )
        if req.service == "lambda" and req.operation == "CreateFunction":
            for key, value in (req.params.get("Environment") or {}).get("Variables", {}).items():
                if "ENDPOINT" in key.upper() and value:
                    endpoint = _arn("sagemaker", region, account, f"endpoint/{value.lower()}")
                    out["lambda"].append(("sagemaker:InvokeEndpoint", endpoint))
        if req.service == "stepfunctions" and req.operation in (
            "CreateStateMachine",
            "UpdateStateMachine",
        ):
            functions, endpoints = _definition_arns(
                str(req.params.get("definition", "")), region, account
            )
            out["states"] += [("lambda:InvokeFunction", f) for f in sorted(functions)]
            out["states"] += [
                (
                    "sagemaker:InvokeEndpoint",
                    _arn("sagemaker", region, account, f"endpoint/{e.lower()}"),
                )
                for e in sorted(endpoints)
            ]
        if req.service == "stepfunctions" and req.operation == "StartExecution":
            out["lambda"] += [
                ("s3:GetObject", _obj_arn(u, exact=True)) for u in _start_input_uris(req)
            ]
    return dict(out)


def _logs(region: str, account: str, group: str) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [
            _arn("logs", region, account, f"log-group:{group}"),
            _arn("logs", region, account, f"log-group:{group}:*"),
        ],
    }


def _generalized_role_statements(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    grouped: dict[str, set[str]] = defaultdict(set)
    buckets: set[str] = set()
    for action, resource in pairs:
        if resource.startswith("arn:aws:s3:::"):
            bucket, _, key = resource[len("arn:aws:s3:::") :].partition("/")
            buckets.add(bucket)
            general = _s3_key_pattern(key)
            resource = (
                f"arn:aws:s3:::{bucket}/{general if general.endswith('*') else general + '*'}"
            )
        elif resource.startswith("arn:aws:lambda:"):
            grouped[action].add(generalize(resource) + ":*")  # versions and aliases
            resource = generalize(resource)
        else:
            resource = generalize(resource)
        grouped[action].add(resource)
    statements = _statements(grouped)
    if buckets:
        statements.append(
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": sorted(f"arn:aws:s3:::{b}" for b in buckets),
            }
        )
    return statements


def sagemaker_role_policy(
    requests: Iterable[PlannedRequest], *, region: str, account: str
) -> dict[str, Any]:
    """What the SageMaker execution role needs for the jobs, models, endpoints and
    monitors these requests create.

    An ``s3://`` URI in a Create/Update request is an output when it sits under a key naming
    an output (``OutputDataConfig``, ``ProcessingOutputConfig``, ``DestinationS3Uri`` ...),
    otherwise an input.
    """
    reqs = list(requests)
    pairs = role_requests(reqs, region=region, account=account).get("sagemaker", [])
    statements = _generalized_role_statements(pairs)
    images: set[str] = set()
    for req in reqs:
        if req.service != "sagemaker" or not req.operation.startswith(("Create", "Update")):
            continue
        for path, value in _walk_paths(req.params):
            if (
                isinstance(value, str)
                and ".dkr.ecr." in value
                and path[-1] in ("Image", "TrainingImage", "ImageUri", "RuleEvaluatorImage")
            ):
                images.add(value)
    if images:
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
                "Resource": sorted({_repo_arn(i) for i in images}),
            }
        )
    statements.append(_logs(region, account, "/aws/sagemaker/*"))
    statements.append(
        {
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {
                "StringLike": {"cloudwatch:namespace": ["aws/sagemaker/*", "/aws/sagemaker/*"]}
            },
        }
    )
    return _doc(statements)


#: The previous name of `sagemaker_role_policy`.
execution_role_policy = sagemaker_role_policy


def lambda_role_policy(
    requests: Iterable[PlannedRequest], *, region: str, account: str
) -> dict[str, Any]:
    """What the Lambda functions' role needs: their logs, the endpoints their environment
    names (``ENDPOINT_NAME``...), the objects the executions' inputs name."""
    reqs = list(requests)
    pairs = role_requests(reqs, region=region, account=account).get("lambda", [])
    statements = _generalized_role_statements(pairs)
    for name in sorted(
        {generalize(r.params["FunctionName"]) for r in reqs if r.operation == "CreateFunction"}
    ):
        statements.append(_logs(region, account, f"/aws/lambda/{name}"))
    return _doc(statements)


def states_role_policy(
    requests: Iterable[PlannedRequest], *, region: str, account: str
) -> dict[str, Any]:
    """What the state machines' role needs: invoking the functions (and endpoints) their
    definitions call."""
    pairs = role_requests(list(requests), region=region, account=account).get("states", [])
    return _doc(_generalized_role_statements(pairs))


def _repo_arn(image: str) -> str:
    # 123456789012.dkr.ecr.us-east-1.amazonaws.com/repo/name:tag
    host, _, path = image.partition("/")
    account = host.split(".")[0]
    region = host.split(".")[3] if host.count(".") >= 3 else "*"
    repo = path.split("@")[0].rsplit(":", 1)[0]
    return f"arn:aws:ecr:{region}:{account}:repository/{repo}"


_ROLE_POLICIES = {
    "sagemaker": sagemaker_role_policy,
    "lambda": lambda_role_policy,
    "states": states_role_policy,
}


def policies_for(
    requests: Iterable[PlannedRequest], *, region: str, account: str
) -> dict[str, Any]:
    """Every document: ``{"caller": policy, "roles": {kind: {"RoleArn", "TrustPolicy",
    "PermissionPolicy"}}}`` for each role (sagemaker, lambda, states) the requests pass."""
    reqs = list(requests)
    roles = {}
    for kind, arn in sorted(role_arns(reqs).items()):
        roles[kind] = {
            "RoleArn": arn,
            "TrustPolicy": trust_policy(kind),
            "PermissionPolicy": _ROLE_POLICIES[kind](reqs, region=region, account=account),
        }
    return {"caller": caller_policy(reqs, region=region, account=account), "roles": roles}
