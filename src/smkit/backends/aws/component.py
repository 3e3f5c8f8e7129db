"""The shared context of the aws backend's capability components.

`smkit.backends.aws.AwsBackend` is composed of one component per capability
(``backend.training``, ``backend.serving``, ``backend.monitoring``, ``backend.workflows``).
Each holds the backend, its context, and reads the shared settings through it at call time:
the requester (``call``), the store, the region, account, bucket, roles and plan mode. So a
setting changed on the backend (``backend.debugger = True``, a replaced ``backend.store``)
is seen by every component.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smkit.backends.aws import AwsBackend

__all__ = ["AwsComponent"]


class AwsComponent:
    """Base of the aws capability components: typed reads of the backend's context.

    Args:
        backend: The backend whose settings and requester the component uses, and which
            the handles it returns (jobs, endpoints, monitors) call back.
    """

    def __init__(self, backend: AwsBackend) -> None:
        self.backend = backend

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.backend!r})"

    def call(
        self, service: str, operation: str, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Send (or plan) one validated request through the backend's requester."""
        return self.backend.call(service, operation, params, **kwargs)

    @property
    def store(self) -> Any:
        """The backend's S3 store."""
        return self.backend.store

    @property
    def region(self) -> str:
        """The backend's AWS region."""
        return self.backend.region

    @property
    def account(self) -> str:
        """The backend's account id."""
        return self.backend.account

    @property
    def bucket(self) -> str:
        """The backend's default bucket."""
        return self.backend.bucket

    @property
    def role(self) -> str:
        """The SageMaker execution role ARN."""
        return self.backend.role

    @property
    def lambda_role(self) -> str:
        """The Lambda functions' execution role ARN."""
        return self.backend.lambda_role

    @property
    def states_role(self) -> str:
        """The role Step Functions assumes."""
        return self.backend.states_role

    @property
    def plan_mode(self) -> bool:
        """Whether requests are only recorded, not sent."""
        return self.backend.plan_mode
