"""The AWS backend: boto3 requests to S3, SageMaker, Lambda and Step Functions.

boto3 is imported only here (and only when a client is first needed). Every request is
validated with botocore's parameter validation and recorded; with ``plan=True`` nothing is
sent and `AwsBackend.plan` returns the exact requests a run would make.

Configuration, each by argument first, then environment:

- ``region``: ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` / the profile's region;
- ``profile``: ``AWS_PROFILE``;
- ``role``: the SageMaker execution role ARN, ``SMKIT_ROLE``;
- ``lambda_role``: the execution role of the Lambda functions, ``SMKIT_LAMBDA_ROLE``;
- ``states_role``: the role Step Functions assumes to run state machines,
  ``SMKIT_STATES_ROLE``;
- ``bucket``: the default bucket, ``SMKIT_BUCKET`` (else ``sagemaker-<region>-<account>``),
  created on a real run when missing (as the SDK does);
- ``endpoint_url``: send everything to one URL (moto server, LocalStack),
  ``SMKIT_AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from smkit.backends._protocol import Capability, Resource
from smkit.backends.aws.catalog import SageMakerCatalog
from smkit.backends.aws.client import PlannedRequest, Requester
from smkit.backends.aws.monitoring import AwsMonitoring
from smkit.backends.aws.serving import AwsServing
from smkit.backends.aws.store import S3Store
from smkit.backends.aws.training import AwsTraining
from smkit.backends.aws.workflows import AwsWorkflows
from smkit.errors import ConfigError

__all__ = ["PLAN_ACCOUNT", "AwsBackend"]

_log = logging.getLogger(__name__)

#: Account id used in ARNs built while planning (nothing is sent, so none is known).
PLAN_ACCOUNT = "123456789012"


class AwsBackend(AwsTraining, AwsServing, AwsMonitoring, AwsWorkflows):
    """Runs on real AWS (or on an AWS-compatible endpoint such as moto's server).

    The capability verbs come from one mixin per capability module beside this file.

    Args:
        region: AWS region.
        profile: Named AWS profile.
        role: SageMaker execution role ARN (trusted by ``sagemaker.amazonaws.com``).
        lambda_role: Execution role of the Lambda functions (trusted by
            ``lambda.amazonaws.com``); a SageMaker role cannot be assumed by Lambda, so it is
            never used as a fallback.
        states_role: Role of the state machines (trusted by ``states.amazonaws.com``).
        bucket: Default S3 bucket for artifacts.
        endpoint_url: Override for every service endpoint.
        plan: Record and validate requests without sending them.
        account: Account id used in the ARNs built while planning (default
            ``PLAN_ACCOUNT``); a real run asks STS.
        create_bucket: Create the default bucket on a real run when it is missing (as the
            SDK does); ``False`` uses it as given.
        debugger: Send SageMaker Debugger rules and the profiler with training jobs (default
            off: Debugger is closed to new customers, so it is opt-in on AWS; else
            ``SMKIT_AWS_DEBUGGER=1``).
        **options: Ignored options meant for other backends (e.g. ``root``).
    """

    name = "aws"
    capabilities = frozenset(
        {
            Capability.TRAINING,
            Capability.SERVING,
            Capability.MONITORING,
            Capability.WORKFLOWS,
            Capability.PLAN,
            Capability.INFERENCE_PIPELINES,
        }
    )

    def __init__(
        self,
        *,
        region: str | None = None,
        profile: str | None = None,
        role: str | None = None,
        lambda_role: str | None = None,
        states_role: str | None = None,
        bucket: str | None = None,
        endpoint_url: str | None = None,
        plan: bool = False,
        account: str | None = None,
        debugger: bool | None = None,
        create_bucket: bool = True,
        **options: Any,
    ) -> None:
        self.requester = Requester(
            region=region,
            profile=profile or os.environ.get("AWS_PROFILE"),
            endpoint_url=endpoint_url,
            plan=plan,
        )
        self.plan_mode = plan
        self._plan_account = str(account) if account else PLAN_ACCOUNT
        if debugger is None:
            debugger = os.environ.get("SMKIT_AWS_DEBUGGER", "").lower() in ("1", "true", "yes")
        self.debugger = bool(debugger)
        self._role = role or os.environ.get("SMKIT_ROLE")
        self._lambda_role = lambda_role or os.environ.get("SMKIT_LAMBDA_ROLE")
        self._states_role = states_role or os.environ.get("SMKIT_STATES_ROLE")
        self._bucket = bucket or os.environ.get("SMKIT_BUCKET")
        self._bucket_ready = not create_bucket
        self.store = S3Store(self.requester)
        self.catalog = SageMakerCatalog(self.requester)
        self.options = options

    def __repr__(self) -> str:
        return f"AwsBackend(region={self.requester._region!r}, plan={self.plan_mode})"

    @property
    def region(self) -> str:
        """The AWS region."""
        return self.requester.region

    @property
    def account(self) -> str:
        """The caller's account id (the ``account`` option or ``PLAN_ACCOUNT`` while
        planning)."""
        if self.plan_mode:
            return self._plan_account
        ident = self.requester.call("sts", "GetCallerIdentity")
        return str(ident["Account"])

    @property
    def role(self) -> str:
        """The SageMaker execution role ARN."""
        if self._role:
            return self._role
        if self.plan_mode:
            return f"arn:aws:iam::{self.account}:role/SmkitSageMakerExecutionRole"
        raise ConfigError(
            "no SageMaker execution role configured",
            hint="pass role='arn:aws:iam::<account>:role/<name>' or set SMKIT_ROLE",
        )

    @property
    def lambda_role(self) -> str:
        """The Lambda functions' execution role ARN (a placeholder while planning).

        Raises:
            ConfigError: none configured on a real run (the SageMaker role is not a fallback:
                Lambda cannot assume a role trusted only by SageMaker).
        """
        return self._service_role(self._lambda_role, "lambda", "lambda_role", "--lambda-role")

    @property
    def states_role(self) -> str:
        """The role Step Functions assumes (a placeholder while planning).

        Raises:
            ConfigError: none configured on a real run.
        """
        return self._service_role(self._states_role, "states", "states_role", "--states-role")

    def _service_role(self, value: str | None, service: str, option: str, flag: str) -> str:
        if value:
            return value
        if self.plan_mode:
            return f"arn:aws:iam::{self.account}:role/smkit-{service}"
        env = f"SMKIT_{option.upper()}"
        raise ConfigError(
            f"no {service} role configured (a role {service}.amazonaws.com can assume)",
            hint=f"pass {option}='arn:aws:iam::<account>:role/<name>' (CLI {flag}) or set "
            f"{env}; `smkit aws policy` prints its trust and permission policies",
        )

    @property
    def bucket(self) -> str:
        """The default bucket (``sagemaker-<region>-<account>`` unless configured).

        On a real run it is created when missing, the first time it is needed (as the
        SageMaker SDK does for its default bucket), locked down by
        `smkit.backends.aws.store.S3Store.ensure_bucket`. Planning sends nothing.
        """
        if not self._bucket:
            self._bucket = f"sagemaker-{self.region}-{self.account}"
        if not self.plan_mode and not self._bucket_ready:
            self._ensure_default_bucket(self._bucket)
        return self._bucket

    def _ensure_default_bucket(self, bucket: str) -> None:
        from smkit.errors import AwsError

        try:
            self.store.ensure_bucket(bucket)
        except AwsError as exc:
            if exc.context.get("code") not in ("403", "AccessDenied", "Forbidden"):
                raise
            # HeadBucket is refused without s3:ListBucket on it: the bucket exists (S3
            # answers 404 otherwise) and object-level access may still be granted
            _log.warning("bucket %s: HeadBucket refused (%s); using it as is", bucket, exc)
        self._bucket_ready = True

    def supports(self, capability: Capability | str) -> bool:
        """Whether this backend offers ``capability`` ([Capability][smkit.backends.Capability])."""
        return Capability(capability) in self.capabilities

    def default_bucket(self) -> str:
        """The default bucket (``sagemaker-<region>-<account>`` unless configured)."""
        return self.bucket

    def plan(self) -> list[PlannedRequest]:
        """Every request made (or, in plan mode, that would have been made) so far."""
        return list(self.requester.requests)

    def call(
        self, service: str, operation: str, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Send (or plan) one validated request; see `Requester.call`."""
        return self.requester.call(service, operation, params, **kwargs)

    def describe(self, kind: str, name: str) -> Resource:
        """Describe a SageMaker resource."""
        return self.catalog.describe(kind, name)

    def close(self) -> None:
        """Nothing to release: boto3 clients close with the process."""
