"""Generic resource verbs: ``describe``, ``list``, ``stop``, ``delete``, ``logs`` by kind.

Each [ResourceKind][smkit.backends.ResourceKind] belongs to one capability and maps each verb
it offers to a method declared by that capability's protocol in
`smkit.backends._protocol` (or to the backend's [Catalog][smkit.backends.Catalog], which
every backend has). Nothing is looked up by name on the backend: a verb a kind does not offer
is refused with the reason (SageMaker has no ``DeleteTrainingJob``, an endpoint is deleted,
not stopped), whichever backend runs it.

The [Session][smkit.Session] exposes these as ``session.describe(kind, name)`` and friends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from typing import Any, cast

import attrs

from smkit.backends._protocol import (
    Backend,
    Capability,
    MonitoringBackend,
    ServingBackend,
    TrainingBackend,
    WorkflowBackend,
    require,
)

__all__ = ["ResourceKind", "Verb", "offered_verbs", "run_verb"]


class ResourceKind(StrEnum):
    """The kinds of resources the generic verbs act on."""

    TRAINING_JOB = "training_job"
    """A training job (``DescribeTrainingJob`` records)."""
    TUNING_JOB = "tuning_job"
    """A hyper-parameter tuning job (``DescribeHyperParameterTuningJob`` records)."""
    ENDPOINT = "endpoint"
    """An endpoint (``DescribeEndpoint`` records)."""
    EXECUTION = "execution"
    """A workflow execution, named by its ARN (``DescribeExecution`` records)."""
    MONITORING_SCHEDULE = "monitoring_schedule"
    """A monitoring schedule (``DescribeMonitoringSchedule`` records)."""


class Verb(StrEnum):
    """The generic verbs."""

    DESCRIBE = "describe"
    LIST = "list"
    STOP = "stop"
    DELETE = "delete"
    LOGS = "logs"


@attrs.frozen
class _KindVerbs:
    """How one kind answers each verb: a function of the backend, or why it cannot.

    The functions take ``(backend, name)``, except ``list`` ``(backend, status)`` and
    ``delete`` ``(backend, name, force)``.
    """

    capability: Capability
    verbs: dict[Verb, Callable[..., Any] | str]


def _training(backend: Any) -> TrainingBackend:
    return cast("TrainingBackend", backend)


def _serving(backend: Any) -> ServingBackend:
    return cast("ServingBackend", backend)


def _workflows(backend: Any) -> WorkflowBackend:
    return cast("WorkflowBackend", backend)


def _monitoring(backend: Any) -> MonitoringBackend:
    return cast("MonitoringBackend", backend)


def _with_status(
    items: list[dict[str, Any]], field: str, status: str | None
) -> list[dict[str, Any]]:
    return [d for d in items if status is None or d.get(field) == status]


def _execution_record(execution: Any) -> dict[str, Any]:
    """An `smkit.workflow.Execution` as a ``DescribeExecution`` response."""
    record: dict[str, Any] = {
        "executionArn": execution.arn,
        "name": execution.name,
        "stateMachineArn": execution.state_machine_arn,
        "status": execution.status,
        "input": json.dumps(execution.input),
    }
    if execution.output is not None:
        record["output"] = json.dumps(execution.output)
    for key, value in (
        ("error", execution.error),
        ("cause", execution.cause),
        ("startDate", execution.start_date),
        ("stopDate", execution.stop_date),
    ):
        if value is not None:
            record[key] = value
    return record


def _event_line(event: dict[str, Any]) -> str:
    """One history event as a log line: ``timestamp id type [state]``."""
    state = next(
        (
            v["name"]
            for k, v in event.items()
            if k.endswith("EventDetails") and isinstance(v, dict) and "name" in v
        ),
        None,
    )
    parts = [str(event.get("timestamp", "")), str(event.get("id", "")), str(event.get("type"))]
    return " ".join(p for p in [*parts, state or ""] if p)


def _schedule_record(backend: Any, name: str) -> dict[str, Any]:
    res = _monitoring(backend).catalog.describe(ResourceKind.MONITORING_SCHEDULE.value, name)
    return {**res.data, "MonitoringScheduleName": name, "MonitoringScheduleStatus": res.status}


def _schedule_list(backend: Any, status: str | None) -> list[dict[str, Any]]:
    return [
        {**r.data, "MonitoringScheduleName": r.name, "MonitoringScheduleStatus": r.status}
        for r in _monitoring(backend).catalog.list(
            ResourceKind.MONITORING_SCHEDULE.value, status=status
        )
    ]


_NO_DELETE_JOB = "SageMaker keeps {kind}s (there is no Delete call): stop it instead"

_KINDS: dict[ResourceKind, _KindVerbs] = {
    ResourceKind.TRAINING_JOB: _KindVerbs(
        Capability.TRAINING,
        {
            Verb.DESCRIBE: lambda b, n: _training(b).describe_training_job(n),
            Verb.LIST: lambda b, s: _training(b).list_training_jobs(status=s),
            Verb.STOP: lambda b, n: _training(b).stop_training_job(n),
            Verb.DELETE: _NO_DELETE_JOB.format(kind="training job"),
            Verb.LOGS: lambda b, n: _training(b).training_job_logs(n),
        },
    ),
    ResourceKind.TUNING_JOB: _KindVerbs(
        Capability.TRAINING,
        {
            Verb.DESCRIBE: lambda b, n: _training(b).describe_tuning_job(n),
            Verb.LIST: lambda b, s: _training(b).list_tuning_jobs(status=s),
            Verb.STOP: lambda b, n: _training(b).stop_tuning_job(n),
            Verb.DELETE: _NO_DELETE_JOB.format(kind="tuning job"),
            Verb.LOGS: "a tuning job's logs are its trials': logs('training_job', trial_name)",
        },
    ),
    ResourceKind.ENDPOINT: _KindVerbs(
        Capability.SERVING,
        {
            Verb.DESCRIBE: lambda b, n: _serving(b).describe_endpoint(n),
            Verb.LIST: lambda b, s: _with_status(_serving(b).list_endpoints(), "EndpointStatus", s),
            Verb.STOP: "an endpoint is not stopped but deleted: delete('endpoint', name)",
            Verb.DELETE: lambda b, n, force: _serving(b).delete_endpoint(n, force=force),
            Verb.LOGS: "the serving capability declares no endpoint logs (CloudWatch's on AWS)",
        },
    ),
    ResourceKind.EXECUTION: _KindVerbs(
        Capability.WORKFLOWS,
        {
            Verb.DESCRIBE: lambda b, n: _execution_record(_workflows(b).describe_execution(n)),
            Verb.LIST: "the workflows capability lists no executions: keep the ARN that "
            "run_workflow returns",
            Verb.STOP: "the workflows capability declares no StopExecution",
            Verb.DELETE: "Step Functions keeps executions (there is no DeleteExecution)",
            Verb.LOGS: lambda b, n: "".join(
                _event_line(e) + "\n" for e in _workflows(b).execution_history(n)
            ),
        },
    ),
    ResourceKind.MONITORING_SCHEDULE: _KindVerbs(
        Capability.MONITORING,
        {
            Verb.DESCRIBE: _schedule_record,
            Verb.LIST: _schedule_list,
            Verb.STOP: "the monitoring capability declares no StopMonitoringSchedule: "
            "delete the schedule instead",
            Verb.DELETE: lambda b, n, force: _monitoring(b).catalog.delete(
                ResourceKind.MONITORING_SCHEDULE.value, n, reason="deleted by user"
            ),
            Verb.LOGS: "a schedule's results are its executions' reports (monitor.executions())",
        },
    ),
}


def _unsupported(kind: ResourceKind, verb: Verb, why: str) -> Any:
    from smkit.errors import ConfigError

    offered = ", ".join(v.value for v in offered_verbs(kind))
    raise ConfigError(
        f"{verb.value} is not a verb of {kind.value}: {why}",
        hint=f"{kind.value} offers: {offered}",
        kind=kind.value,
        verb=verb.value,
    )


def resource_kind(kind: ResourceKind | str) -> ResourceKind:
    """The kind named ``kind`` (``training_job`` or ``training-job``).

    Raises:
        ConfigError: no such kind; the message lists the known ones.
    """
    try:
        return ResourceKind(str(kind).replace("-", "_"))
    except ValueError:
        from smkit.errors import ConfigError

        known = ", ".join(k.value for k in ResourceKind)
        raise ConfigError(
            f"unknown resource kind {kind!r}; known kinds: {known}", kind=str(kind)
        ) from None


def offered_verbs(kind: ResourceKind | str) -> tuple[Verb, ...]:
    """The verbs ``kind`` answers (on every backend offering its capability)."""
    verbs = _KINDS[resource_kind(kind)].verbs
    return tuple(v for v in Verb if callable(verbs[v]))


def run_verb(
    backend: Backend,
    verb: Verb | str,
    kind: ResourceKind | str,
    name: str | None = None,
    *,
    status: str | None = None,
    force: bool = False,
) -> Any:
    """Carry out ``verb`` on the resource ``kind``/``name`` of ``backend``.

    Args:
        backend: The backend.
        verb: One of [Verb][smkit.backends.Verb].
        kind: One of [ResourceKind][smkit.backends.ResourceKind] (or its name).
        name: The resource's name (an execution's ARN); not used by ``list``.
        status: ``list`` only: keep the resources with this status.
        force: ``delete`` only: delete an endpoint even when a schedule monitors it.

    Raises:
        ConfigError: an unknown kind or verb, a verb the kind does not offer, or no name.
        BackendError: the backend lacks the kind's capability.
        ResourceNotFoundError: no such resource.
    """
    from smkit.errors import ConfigError

    the_kind = resource_kind(kind)
    try:
        the_verb = Verb(verb)
    except ValueError:
        raise ConfigError(
            f"unknown verb {verb!r}; verbs: {', '.join(v.value for v in Verb)}", verb=str(verb)
        ) from None
    spec = _KINDS[the_kind]
    action = spec.verbs[the_verb]
    if isinstance(action, str):
        return _unsupported(the_kind, the_verb, action)
    require(backend, spec.capability)
    if the_verb is Verb.LIST:
        return action(backend, status)
    if not name:
        raise ConfigError(f"{the_verb.value} {the_kind.value} needs a name", kind=the_kind.value)
    if the_verb is Verb.DELETE:
        return action(backend, name, force)
    return action(backend, name)
