"""Small pieces of the emulator, without a server."""

from __future__ import annotations

from datetime import timedelta

import pytest

from smkit.emulator.lambdas import _name_of
from smkit.emulator.monitoring import parse_offset
from smkit.emulator.protocol import EmulatorError
from smkit.emulator.server import unknown_action
from smkit.training.images import framework_of_image

ECR = "683313688378.dkr.ecr.us-east-1.amazonaws.com"


@pytest.mark.parametrize(
    "image,expected",
    [
        (f"{ECR}/sagemaker-scikit-learn:1.2-1-cpu-py3", ("sklearn", "1.2-1")),
        (f"{ECR}/sagemaker-xgboost:1.7-1", ("xgboost", "1.7-1")),
        ("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1-cpu-py310",
         ("pytorch", "2.1")),
        ("763104351884.dkr.ecr.us-east-1.amazonaws.com/autogluon-training:1.1-cpu-py311",
         ("autogluon", "1.1")),
        (f"{ECR}/sagemaker-xgboost", ("xgboost", None)),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/my-image:latest", ("custom", None)),
    ],
)
def test_framework_of_image(image: str, expected: tuple) -> None:
    assert framework_of_image(image) == expected


def test_parse_offset_reads_negative_iso_durations() -> None:
    assert parse_offset("-PT1H") == -timedelta(hours=1)
    assert parse_offset("-P1DT2H30M") == -timedelta(days=1, hours=2, minutes=30)
    assert parse_offset("-PT0H") == timedelta(0)
    with pytest.raises(EmulatorError):
        parse_offset("PT1H")
    with pytest.raises(EmulatorError):
        parse_offset("-P")


def test_function_names_from_names_and_arns() -> None:
    assert _name_of("fn") == "fn"
    assert _name_of("arn:aws:lambda:us-east-1:123456789012:function:fn") == "fn"
    assert _name_of("arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Afn%3A1") == "fn"


def test_unknown_action_names_the_operation_per_protocol() -> None:
    scope = {
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "headers": [(b"x-amz-target", b"Logs_20140328.DoSomething")],
    }
    status, body, headers = unknown_action(scope, b"{}")
    assert status == 400 and b"DoSomething" in body
    assert (b"x-amzn-errortype", b"UnknownOperationException") in headers
    scope = {"method": "POST", "path": "/", "query_string": b"", "headers": []}
    status, body, _ = unknown_action(scope, b"Action=Frobnicate&Version=2010-05-08")
    assert status == 400
    assert b"<Code>InvalidAction</Code>" in body and b"Frobnicate" in body
