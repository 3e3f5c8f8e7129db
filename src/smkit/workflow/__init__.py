"""Workflows: Lambda handlers and Step Functions state machines, run locally or on AWS.

Build states (`Task`, `Choice`, `Pass`, `Wait`,
`Succeed`, `Fail`, `Parallel`, `Map`), chain them with ``>>``,
wrap them in a `Workflow` and hand it to ``Session.run_workflow``. ``to_asl()`` gives
the Amazon States Language definition; ``Workflow.from_asl()`` reads any valid one.

Examples:
    >>> import smkit
    >>> from smkit.workflow import Pass, Task, Workflow
    >>> wf = Workflow("demo", Task.lambda_("Double", "double") >> Pass("Done"))
    >>> def double(event, context):
    ...     return {"value": event["value"] * 2}
    >>> s = smkit.Session(root="/tmp/smkit-doc-wf")
    >>> s.run_workflow(wf, {"value": 21}, handlers={"double": double}).output
    {'value': 42}
"""

from __future__ import annotations

from smkit.workflow.execution import Execution
from smkit.workflow.lambda_spec import RUNTIMES, LambdaSpec, package, resolve_handler
from smkit.workflow.machine import Graph, Workflow
from smkit.workflow.pieces import (
    CONFIDENCE_ERROR,
    classify_spec,
    confidence_filter,
    image_classification_workflow,
    serialize_image_data_spec,
)
from smkit.workflow.states import (
    Catch,
    Chain,
    Choice,
    Condition,
    Fail,
    Map,
    Parallel,
    Pass,
    Retry,
    State,
    Succeed,
    Task,
    Var,
    Wait,
    When,
    lambda_arn,
)

__all__ = [
    "CONFIDENCE_ERROR",
    "RUNTIMES",
    "Catch",
    "Chain",
    "Choice",
    "Condition",
    "Execution",
    "Fail",
    "Graph",
    "LambdaSpec",
    "Map",
    "Parallel",
    "Pass",
    "Retry",
    "State",
    "Succeed",
    "Task",
    "Var",
    "Wait",
    "When",
    "Workflow",
    "classify_spec",
    "confidence_filter",
    "image_classification_workflow",
    "lambda_arn",
    "package",
    "resolve_handler",
    "serialize_image_data_spec",
]
