import json

from smkit.backends.aws.client import PlannedRequest
from smkit.backends.aws.policy import caller_policy, execution_role_policy, iam_action
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


def test_caller_policy_is_scoped_to_what_the_plan_names():
    doc = caller_policy(_plan(), region="us-east-1", account="111122223333")
    by_action = {}
    for st in doc["Statement"]:
        for action in [st["Action"]] if isinstance(st["Action"], str) else st["Action"]:
            by_action[action] = st
    assert by_action["s3:PutObject"]["Resource"] == "arn:aws:s3:::bkt/wine/*"
    assert by_action["s3:GetObject"]["Resource"] == "arn:aws:s3:::bkt/wine/train/train.csv"
    assert by_action["sagemaker:CreateTrainingJob"]["Resource"] == (
        "arn:aws:sagemaker:us-east-1:111122223333:training-job/wine-1"
    )
    assert by_action["sagemaker:ListTrainingJobs"]["Resource"] == "*"
    assert "sts:GetCallerIdentity" not in by_action
    passrole = by_action["iam:PassRole"]
    assert passrole["Resource"] == ROLE
    assert passrole["Condition"]["StringEquals"]["iam:PassedToService"] == [
        "sagemaker.amazonaws.com"
    ]


def test_execution_role_reads_inputs_writes_outputs_pulls_image():
    doc = execution_role_policy(_plan(), region="us-east-1", account="111122223333")
    st = {
        tuple(s["Action"]) if isinstance(s["Action"], list) else (s["Action"],): s
        for s in doc["Statement"]
    }
    assert st[("s3:GetObject",)]["Resource"] == ["arn:aws:s3:::bkt/wine/train/*"]
    assert sorted(st[("s3:PutObject",)]["Resource"]) == ["arn:aws:s3:::bkt/wine/*"]
    ecr = st[("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")]
    assert ecr["Resource"] == ["arn:aws:ecr:us-east-1:683313688378:repository/xgb"]


def test_cli_policy_for_a_usecase(capsys):
    assert main(["aws", "policy", "staging-demo", "--bucket", "smkit"]) == 0
    doc = json.loads(capsys.readouterr().out)
    actions = {
        a
        for s in doc["caller"]["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert "s3:PutObject" in actions
    assert all(
        s["Resource"] != "*" for s in doc["caller"]["Statement"] if "s3:PutObject" in s["Action"]
    )
