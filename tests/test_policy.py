import json

from smkit.backends.aws.client import PlannedRequest
from smkit.backends.aws.policy import (
    allows,
    caller_policy,
    execution_role_policy,
    generalize,
    iam_action,
    trust_policy,
    wildcard_match,
)
from smkit.cli import main

ROLE = "arn:aws:iam::111122223333:role/sm"


def _plan():
    return [
        PlannedRequest("s3", "PutObject", {"Bucket": "bkt", "Key": "wine/train/train.csv"}),
        PlannedRequest("s3", "PutObject", {"Bucket": "bkt", "Key": "wine/validation/v.csv"}),
        PlannedRequest("s3", "HeadObject", {"Bucket": "bkt", "Key": "wine/train/train.csv"}),
        PlannedRequest(
            "sagemaker",
            "CreateTrainingJob",
            {
                "TrainingJobName": "Wine-1",
                "RoleArn": ROLE,
                "AlgorithmSpecification": {
                    "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgb:1.7-1",
                    "TrainingInputMode": "File",
                },
                "InputDataConfig": [
                    {
                        "ChannelName": "train",
                        "DataSource": {
                            "S3DataSource": {
                                "S3Uri": "s3://bkt/wine/train/",
                                "S3DataType": "S3Prefix",
                            }
                        },
                    }
                ],
                "OutputDataConfig": {"S3OutputPath": "s3://bkt/wine/models/"},
            },
        ),
        PlannedRequest(
            "sagemaker",
            "CreateEndpointConfig",
            {
                "EndpointConfigName": "wine-cfg",
                "DataCaptureConfig": {"DestinationS3Uri": "s3://bkt/wine/capture"},
            },
        ),
        PlannedRequest("sagemaker", "ListTrainingJobs", {}),
        PlannedRequest("sts", "GetCallerIdentity", {}),
    ]


def test_actions_map_to_iam_names():
    assert iam_action("s3", "ListObjectsV2") == "s3:ListBucket"
    assert iam_action("stepfunctions", "StartExecution") == "states:StartExecution"
    assert iam_action("sagemaker-runtime", "InvokeEndpoint") == "sagemaker:InvokeEndpoint"


def _by_action(doc):
    out = {}
    for st in doc["Statement"]:
        for action in [st["Action"]] if isinstance(st["Action"], str) else st["Action"]:
            out[action] = st
    return out


def test_caller_policy_is_scoped_by_prefixes_that_outlive_the_run():
    doc = caller_policy(_plan(), region="us-east-1", account="111122223333")
    by_action = _by_action(doc)
    assert by_action["s3:PutObject"]["Resource"] == "arn:aws:s3:::bkt/wine/*"
    assert by_action["s3:GetObject"]["Resource"] == "arn:aws:s3:::bkt/wine/*"  # reads back
    assert by_action["s3:ListBucket"]["Resource"] == "arn:aws:s3:::bkt"
    assert by_action["sagemaker:CreateTrainingJob"]["Resource"] == (
        "arn:aws:sagemaker:us-east-1:111122223333:training-job/wine-1"
    )
    # what a real run sends beyond the plan: waits and cleanup
    for action in ("sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"):
        assert by_action[action]["Resource"] == by_action["sagemaker:CreateTrainingJob"]["Resource"]
    assert by_action["sagemaker:ListTrainingJobs"]["Resource"] == "*"
    assert "sts:GetCallerIdentity" not in by_action
    passrole = by_action["iam:PassRole"]
    assert passrole["Resource"] == ROLE
    assert passrole["Condition"]["StringEquals"]["iam:PassedToService"] == [
        "sagemaker.amazonaws.com"
    ]


def test_execution_role_reads_inputs_writes_outputs_pulls_image():
    doc = execution_role_policy(_plan(), region="us-east-1", account="111122223333")
    assert allows(doc, "s3:GetObject", "arn:aws:s3:::bkt/wine/train/train.csv")
    assert allows(doc, "s3:PutObject", "arn:aws:s3:::bkt/wine/models/Wine-1/output/model.tar.gz")
    assert allows(doc, "s3:PutObject", "arn:aws:s3:::bkt/wine/capture/wine/AllTraffic/x.jsonl")
    assert allows(doc, "s3:ListBucket", "arn:aws:s3:::bkt")
    assert not allows(doc, "s3:PutObject", "arn:aws:s3:::other/wine/x")
    assert allows(doc, "ecr:BatchGetImage", "arn:aws:ecr:us-east-1:683313688378:repository/xgb")
    assert not allows(doc, "ecr:BatchGetImage", "arn:aws:ecr:us-east-1:1:repository/xgb")


def test_wildcards_follow_iam_semantics():
    assert wildcard_match("arn:aws:s3:::b/wine/*", "arn:aws:s3:::b/wine/a/b:c")
    assert wildcard_match("job-?", "job-1") and not wildcard_match("job-?", "job-12")
    assert not wildcard_match("arn:aws:s3:::b/Wine/*", "arn:aws:s3:::b/wine/x")  # case
    assert wildcard_match("S3:PUTOBJECT", "s3:PutObject", case_sensitive=False)
    assert not wildcard_match("b/[ab]", "b/a")  # no character classes in IAM
    assert wildcard_match("b/[ab]", "b/[ab]")
    policy = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/keep/*"},
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "arn:aws:iam::1:role/r",
                "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
            },
        ]
    }
    assert allows(policy, "S3:getobject", "arn:aws:s3:::b/x")
    assert not allows(policy, "s3:DeleteObject", "arn:aws:s3:::b/keep/x")  # deny wins
    assert allows(policy, "s3:DeleteObject", "arn:aws:s3:::b/other")
    ctx = {"iam:PassedToService": "lambda.amazonaws.com"}
    assert allows(policy, "iam:PassRole", "arn:aws:iam::1:role/r", ctx)
    assert not allows(policy, "iam:PassRole", "arn:aws:iam::1:role/r")  # no context
    assert not allows(policy, "iam:PassRole", "arn:aws:iam::1:role/r", {"iam:PassedToService": "x"})


def test_names_lose_their_timestamps():
    assert generalize("wine-2026-12-03-10-15-36-675") == "wine-*"
    assert generalize("baseline-wine-dq-20261203-101533") == "baseline-wine-dq-*"
    assert generalize("hpo-261203-101533") == "hpo-*"
    assert generalize("exec:0b7e6f0c-1f6b-4d0e-9a3e-2f1d8c3b9a10") == "exec:*"
    assert generalize("classify") == "classify"


def test_trust_policies_name_one_service_each():
    for kind, principal in (
        ("sagemaker", "sagemaker.amazonaws.com"),
        ("lambda", "lambda.amazonaws.com"),
        ("states", "states.amazonaws.com"),
    ):
        (st,) = trust_policy(kind)["Statement"]
        assert st["Principal"] == {"Service": principal} and st["Action"] == "sts:AssumeRole"


def test_cli_policy_for_a_usecase(capsys):
    assert main(["aws", "policy", "staging-demo", "--bucket", "smkit"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["roles"] == {}  # staging passes no role
    actions = {
        a
        for s in doc["caller"]["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert "s3:PutObject" in actions
    assert all(
        s["Resource"] != "*" for s in doc["caller"]["Statement"] if "s3:PutObject" in s["Action"]
    )


def test_cli_policy_honours_account_in_every_arn(capsys):
    args = ["aws", "policy", "image-workflow", "--bucket", "bkt-x", "--account", "444455556666"]
    assert main(args) == 0
    text = capsys.readouterr().out
    doc = json.loads(text)
    assert "123456789012" not in text.replace("763104351884", "")
    by_action = _by_action(doc["caller"])
    start = by_action["states:StartExecution"]["Resource"]
    assert ":444455556666:stateMachine:" in start
    assert set(doc["roles"]) == {"sagemaker", "lambda", "states"}
    assert doc["roles"]["lambda"]["RoleArn"] == "arn:aws:iam::444455556666:role/smkit-lambda"
    assert doc["roles"]["sagemaker"]["TrustPolicy"]["Statement"][0]["Principal"] == {
        "Service": "sagemaker.amazonaws.com"
    }
