"""SageMaker itself as the catalog: resources are read with Describe*/List* calls.

``create`` sends the kind's Create* request with ``data`` as its parameters; ``delete`` its
Delete* (or Stop*) request. Statuses are SageMaker's own and only the service changes them,
so `SageMakerCatalog.update` refuses a status change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs

from smkit.backends._protocol import Resource, Transition
from smkit.backends.aws.client import Requester
from smkit.errors import BackendError, ConfigError, ResourceExistsError, ResourceNotFoundError

__all__ = ["KIND_APIS", "KindApi", "SageMakerCatalog"]


@attrs.frozen
class KindApi:
    """How one resource kind maps to SageMaker operations."""

    noun: str  # e.g. "TrainingJob" -> CreateTrainingJob, DescribeTrainingJob, TrainingJobName
    list_key: str
    status_field: str | None
    delete_op: str | None
    default_status: str = "Created"

    @property
    def name_param(self) -> str:
        return f"{self.noun}Name"


KIND_APIS: dict[str, KindApi] = {
    "training_job": KindApi(
        "TrainingJob", "TrainingJobSummaries", "TrainingJobStatus", "StopTrainingJob"
    ),
    "tuning_job": KindApi(
        "HyperParameterTuningJob",
        "HyperParameterTuningJobSummaries",
        "HyperParameterTuningJobStatus",
        "StopHyperParameterTuningJob",
    ),
    "processing_job": KindApi(
        "ProcessingJob", "ProcessingJobSummaries", "ProcessingJobStatus", "StopProcessingJob"
    ),
    "model": KindApi("Model", "Models", None, "DeleteModel"),
    "endpoint_config": KindApi("EndpointConfig", "EndpointConfigs", None, "DeleteEndpointConfig"),
    "endpoint": KindApi("Endpoint", "Endpoints", "EndpointStatus", "DeleteEndpoint"),
    "monitoring_schedule": KindApi(
        "MonitoringSchedule",
        "MonitoringScheduleSummaries",
        "MonitoringScheduleStatus",
        "DeleteMonitoringSchedule",
    ),
}


def _plural(noun: str) -> str:
    return noun + ("es" if noun.endswith("s") else "s")


def _as_dt(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.now(UTC)


class SageMakerCatalog:
    """Describe/List/Create/Delete of SageMaker resources, as a `Catalog`."""

    def __init__(self, requester: Requester) -> None:
        self.requester = requester

    def _api(self, kind: str) -> KindApi:
        try:
            return KIND_APIS[kind]
        except KeyError:
            raise ConfigError(
                f"resource kind {kind!r} is not a SageMaker catalog kind; known: "
                f"{', '.join(sorted(KIND_APIS))}",
                kind=kind,
            ) from None

    def _resource(self, kind: str, name: str, data: dict[str, Any]) -> Resource:
        api = self._api(kind)
        created = _as_dt(data.get("CreationTime"))
        status = (
            str(data.get(api.status_field, api.default_status))
            if api.status_field
            else api.default_status
        )
        clean = {k: v for k, v in data.items() if k != "ResponseMetadata"}
        transitions = tuple(
            Transition(t.get("Status", ""), _as_dt(t.get("StartTime")), t.get("StatusMessage"))
            for t in data.get("SecondaryStatusTransitions", [])
        )
        return Resource(
            kind=kind,
            name=name,
            status=status,
            data=clean,
            created_at=created,
            updated_at=_as_dt(data.get("LastModifiedTime", data.get("CreationTime"))),
            transitions=transitions,
        )

    def create(self, kind: str, name: str, data: dict[str, Any], *, status: str = "") -> Resource:
        """Send ``Create<Noun>`` with ``data`` (the name parameter is filled in).

        The name is checked first with ``Describe<Noun>`` (skipped in plan mode), so a taken
        name raises `ResourceExistsError` on every service and emulator alike.
        """
        api = self._api(kind)
        params = {**data, api.name_param: name}
        if not self.requester.plan:
            try:
                self.describe(kind, name)
            except ResourceNotFoundError:
                pass
            else:
                raise ResourceExistsError(
                    f"{kind} {name!r} already exists",
                    hint="pick another name or delete it first",
                    kind=kind,
                    name=name,
                )
        self.requester.call("sagemaker", f"Create{api.noun}", params, resource=name)
        if self.requester.plan:
            now = datetime.now(UTC)
            return Resource(kind, name, status or api.default_status, params, now, now)
        return self.describe(kind, name)

    def describe(self, kind: str, name: str) -> Resource:
        """``Describe<Noun>``."""
        api = self._api(kind)
        data = self.requester.call(
            "sagemaker", f"Describe{api.noun}", {api.name_param: name}, resource=name
        )
        if self.requester.plan:
            raise ResourceNotFoundError(f"plan mode cannot describe {kind} {name!r}")
        return self._resource(kind, name, data)

    def list(self, kind: str, *, status: str | None = None) -> list[Resource]:
        """``List<Nouns>`` over every page (then one Describe per resource)."""
        api = self._api(kind)
        names: list[str] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"MaxResults": 100}
            if token:
                params["NextToken"] = token
            if status and api.status_field:
                params["StatusEquals"] = status
            resp = self.requester.call("sagemaker", f"List{_plural(api.noun)}", params)
            names.extend(item[api.name_param] for item in resp.get(api.list_key, []))
            token = resp.get("NextToken")
            if not token:
                break
        out = [self.describe(kind, n) for n in names]
        if status:
            out = [r for r in out if r.status == status]
        out.sort(key=lambda r: r.created_at, reverse=True)
        return out

    def update(
        self,
        kind: str,
        name: str,
        *,
        status: str | None = None,
        message: str | None = None,
        **fields: Any,
    ) -> Resource:
        """Statuses on AWS are the service's: this only re-reads the resource."""
        if status is not None or fields:
            raise BackendError(
                f"cannot set fields or the status of {kind} {name!r} on AWS; SageMaker sets them",
                kind=kind,
                name=name,
            )
        return self.describe(kind, name)

    def delete(self, kind: str, name: str, *, reason: str | None = None) -> None:
        """``Delete<Noun>`` (``Stop<Noun>`` for jobs)."""
        api = self._api(kind)
        if api.delete_op is None:
            raise BackendError(f"{kind} cannot be deleted on AWS")
        self.requester.call("sagemaker", api.delete_op, {api.name_param: name}, resource=name)
