"""``Execution``: the outcome of running a workflow (status, output, history, path)."""

from __future__ import annotations

import json
from typing import Any

import attrs

from smkit.errors import FormatError, ResourceFailedError

__all__ = ["Execution", "parse_input", "visited_states"]

_ENTERED = "StateEntered"


def parse_input(value: Any) -> Any:
    """The execution input as JSON data: a JSON string is parsed; other values must be
    JSON-serialisable. Raises `FormatError` before anything runs."""
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise FormatError(
                f"the execution input is not valid JSON: {exc}",
                hint='pass a dict, or JSON text such as \'{"key": "value"}\'',
            ) from None
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise FormatError(f"the execution input is not JSON-serialisable: {exc}") from None


def visited_states(events: list[dict[str, Any]]) -> list[str]:
    """Names of the states an execution entered, in order (nested ones included)."""
    out = []
    for event in events:
        if event.get("type", "").endswith(_ENTERED):
            out.append(event["stateEnteredEventDetails"]["name"])
    return out


@attrs.define
class Execution:
    """A workflow execution, shaped like ``DescribeExecution`` plus its history.

    Attributes:
        arn: ``executionArn``.
        name: Execution name.
        state_machine_arn: ``stateMachineArn``.
        status: ``RUNNING``, ``SUCCEEDED``, ``FAILED``, ``TIMED_OUT`` or ``ABORTED``.
        input: The execution input (parsed JSON).
        output: The output (parsed JSON) when it succeeded.
        error: The error name when it failed.
        cause: The cause when it failed.
        events: ``GetExecutionHistory``-shaped events, oldest first.
        workflow: The workflow it ran, when known (for diagrams).
    """

    arn: str
    name: str
    state_machine_arn: str
    status: str
    input: Any = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    start_date: str | None = None
    stop_date: str | None = None
    events: list[dict[str, Any]] = attrs.field(factory=list, repr=False)
    workflow: Any = attrs.field(default=None, repr=False)

    @property
    def succeeded(self) -> bool:
        """Whether the status is ``SUCCEEDED``."""
        return self.status == "SUCCEEDED"

    @property
    def path(self) -> list[str]:
        """The states entered, in order."""
        return visited_states(self.events)

    @property
    def failed_state(self) -> str | None:
        """The last state entered when the execution did not succeed."""
        if self.status in ("SUCCEEDED", "RUNNING"):
            return None
        path = self.path
        return path[-1] if path else None

    def history(self) -> list[dict[str, Any]]:
        """The events, shaped like ``GetExecutionHistory``'s ``events``."""
        return list(self.events)

    def describe(self) -> dict[str, Any]:
        """A ``DescribeExecution``-shaped dict."""
        out: dict[str, Any] = {
            "executionArn": self.arn,
            "stateMachineArn": self.state_machine_arn,
            "name": self.name,
            "status": self.status,
            "startDate": self.start_date,
            "input": json.dumps(self.input),
        }
        if self.stop_date is not None:
            out["stopDate"] = self.stop_date
        if self.status == "SUCCEEDED":
            out["output"] = json.dumps(self.output)
        if self.error is not None:
            out["error"] = self.error
        if self.cause is not None:
            out["cause"] = self.cause
        return out

    def to_dict(self) -> dict[str, Any]:
        """What ``smkit workflow run`` prints."""
        return {
            "executionArn": self.arn,
            "name": self.name,
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
            "path": self.path,
        }

    def raise_for_status(self) -> Execution:
        """Return ``self`` if it succeeded; raise `ResourceFailedError` otherwise."""
        if not self.succeeded:
            raise ResourceFailedError(
                f"execution {self.name!r} ended {self.status}: {self.error}: {self.cause}",
                name=self.name,
                reason=f"{self.error}: {self.cause}",
            )
        return self

    def diagram(self) -> str:
        """The workflow's mermaid diagram with this execution's path highlighted."""
        if self.workflow is None:
            raise ValueError("this execution does not know its workflow")
        return self.workflow.diagram(self.path, failed=self.failed_state)
