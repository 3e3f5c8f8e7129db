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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from smkit.backends._protocol import Capability, Resource
from smkit.backends.aws.catalog import SageMakerCatalog
from smkit.backends.aws.client import PlannedRequest, Requester
from smkit.backends.aws.monitoring import AwsMonitoring
from smkit.backends.aws.serving import AwsServing
from smkit.backends.aws.store import S3Store
from smkit.backends.aws.training import AwsTraining
from smkit.backends.aws.workflows import AwsWorkflows
from smkit.errors import ConfigError

if TYPE_CHECKING:
    from smkit.backends.aws.monitoring import AwsMonitor
    from smkit.training.job import TrainingJob, TuningJob
    from smkit.training.spec import TrainingSpec
    from smkit.training.tuning import TuningSpec

__all__ = ["PLAN_ACCOUNT", "AwsBackend"]

_log = logging.getLogger(__name__)

#: Account id used in ARNs built while planning (nothing is sent, so none is known).
PLAN_ACCOUNT = "123456789012"


class AwsBackend:
    """Runs on real AWS (or on an AWS-compatible endpoint such as moto's server).

    The backend is composed of one capability component per module beside this file:
    ``backend.training`` (`AwsTraining`), ``backend.serving`` (`AwsServing`),
    ``backend.monitoring`` (`AwsMonitoring`) and ``backend.workflows`` (`AwsWorkflows`).
    Each holds this backend as its shared context (requester, store, region, bucket, roles,
    plan mode, `call`); the backend's capability methods delegate to them.

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
        self.training = AwsTraining(self)
        self.serving = AwsServing(self)
        self.monitoring = AwsMonitoring(self)
        self.workflows = AwsWorkflows(self)

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

    # -- training: delegates to ``self.training`` ----------------------------------------
    def job_poll_delay(self, attempt: int) -> float:
        """1 s doubling to 30 s (Describe* calls are throttled)."""
        return self.training.job_poll_delay(attempt)

    def training_request(self, spec: TrainingSpec, name: str) -> dict[str, Any]:
        """The ``CreateTrainingJob`` parameters for ``spec`` (uploading code and local data)."""
        return self.training.training_request(spec, name)

    def train(
        self, spec: TrainingSpec, *, name: str | None = None, wait: bool = False
    ) -> TrainingJob:
        """Send ``CreateTrainingJob`` and return the job's handle."""
        return self.training.train(spec, name=name, wait=wait)

    def training_job(self, name: str) -> TrainingJob:
        """A handle on an existing training job."""
        return self.training.training_job(name)

    def describe_training_job(self, name: str) -> dict[str, Any]:
        """``DescribeTrainingJob``."""
        return self.training.describe_training_job(name)

    def list_training_jobs(self, status: str | None = None) -> list[dict[str, Any]]:
        """``ListTrainingJobs`` (every page), newest first."""
        return self.training.list_training_jobs(status)

    def training_job_logs(self, name: str) -> str:
        """The job's CloudWatch log events (``/aws/sagemaker/TrainingJobs``)."""
        return self.training.training_job_logs(name)

    def follow_training_job(self, name: str, emit: Callable[[str], None]) -> Callable[[], None]:
        """A pump that emits the CloudWatch log lines that appeared since its last call."""
        return self.training.follow_training_job(name, emit)

    def stop_training_job(self, name: str) -> None:
        """``StopTrainingJob``."""
        self.training.stop_training_job(name)

    def tuning_request(self, spec: TuningSpec, name: str) -> dict[str, Any]:
        """The ``CreateHyperParameterTuningJob`` parameters for ``spec``."""
        return self.training.tuning_request(spec, name)

    def tune(self, spec: TuningSpec, *, name: str | None = None, wait: bool = False) -> TuningJob:
        """Send ``CreateHyperParameterTuningJob`` and return the tuning job's handle."""
        return self.training.tune(spec, name=name, wait=wait)

    def tuning_job(self, name: str) -> TuningJob:
        """A handle on an existing tuning job."""
        return self.training.tuning_job(name)

    def describe_tuning_job(self, name: str) -> dict[str, Any]:
        """``DescribeHyperParameterTuningJob``."""
        return self.training.describe_tuning_job(name)

    def list_tuning_jobs(self, status: str | None = None) -> list[dict[str, Any]]:
        """``ListHyperParameterTuningJobs`` (first 100)."""
        return self.training.list_tuning_jobs(status)

    def tuning_job_trials(self, name: str) -> list[dict[str, Any]]:
        """``ListTrainingJobsForHyperParameterTuningJob`` (every page)."""
        return self.training.tuning_job_trials(name)

    def stop_tuning_job(self, name: str) -> None:
        """``StopHyperParameterTuningJob``."""
        self.training.stop_tuning_job(name)

    # -- serving: delegates to ``self.serving`` ------------------------------------------
    def model_request(self, mspec: Any, model_name: str, instance_type: str) -> dict[str, Any]:
        """The CreateModel request for a `smkit.serving.ModelSpec`."""
        return self.serving.model_request(mspec, model_name, instance_type)

    def pipeline_model_request(
        self, mspecs: list[Any], model_name: str, instance_type: str
    ) -> dict[str, Any]:
        """The CreateModel request of a serial inference pipeline (``Containers``)."""
        return self.serving.pipeline_model_request(mspecs, model_name, instance_type)

    def deploy(self, model: Any, spec: Any, *, wait: bool = True) -> Any:
        """CreateModel, CreateEndpointConfig, CreateEndpoint; then wait for InService."""
        return self.serving.deploy(model, spec, wait=wait)

    def wait_endpoint(self, name: str, *, timeout: float = 1800, poll: float = 15.0) -> None:
        """Poll DescribeEndpoint until ``InService`` (see `AwsServing.wait_endpoint`)."""
        self.serving.wait_endpoint(name, timeout=timeout, poll=poll)

    def describe_endpoint(self, name: str) -> dict[str, Any]:
        """DescribeEndpoint (plus ``Url``: the endpoint's runtime invocations URL)."""
        return self.serving.describe_endpoint(name)

    def list_endpoints(self, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """ListEndpoints, then DescribeEndpoint for each."""
        return self.serving.list_endpoints(include_deleted=include_deleted)

    def endpoint(self, name: str) -> Any:
        """The `smkit.serving.Endpoint` handle of an existing endpoint."""
        return self.serving.endpoint(name)

    def endpoint_transport(self, name: str) -> Any:
        """A predictor transport calling ``sagemaker-runtime`` InvokeEndpoint."""
        return self.serving.endpoint_transport(name)

    def predictor(
        self, name: str, serializer: Any = "csv", deserializer: Any = None, **options: Any
    ) -> Any:
        """A `smkit.serving.Predictor` calling InvokeEndpoint."""
        return self.serving.predictor(name, serializer, deserializer, **options)

    def flush_endpoint_capture(self, name: str, timeout: float = 30.0) -> None:
        """On AWS SageMaker writes captures itself (within minutes); nothing to flush."""
        self.serving.flush_endpoint_capture(name, timeout)

    def delete_endpoint(self, name: str, *, force: bool = False) -> None:
        """DeleteEndpoint, DeleteEndpointConfig and DeleteModel (see
        `AwsServing.delete_endpoint`)."""
        self.serving.delete_endpoint(name, force=force)

    # -- monitoring: delegates to ``self.monitoring`` ------------------------------------
    def apply_monitor(self, plan: Any) -> AwsMonitor:
        """Create the baseline jobs, job definitions and schedules of a ``MonitorPlan``.

        Raises:
            OrderError: a step is missing (capture, baseline, schedule).
        """
        return self.monitoring.apply_monitor(plan)

    @property
    def _definition_names(self) -> dict[str, str]:
        """``schedule name → job definition name`` (kept for callers of the former mixin)."""
        return self.monitoring._definition_names

    @_definition_names.setter
    def _definition_names(self, value: dict[str, str]) -> None:
        self.monitoring._definition_names = value

    def _wait_processing_job(
        self, job: str, *, timeout: float = 3600.0, poll: float = 15.0
    ) -> None:
        """Poll DescribeProcessingJob until ``Completed`` (kept for callers of the former
        mixin; see `AwsMonitoring`)."""
        self.monitoring._wait_processing_job(job, timeout=timeout, poll=poll)

    def _dq(
        self, plan: Any, job: str, definition: str, base: str, reports: str, region: str, role: str
    ) -> None:
        """The data-quality baseline job and job definition (kept for callers of the former
        mixin; see `AwsMonitoring`)."""
        self.monitoring._dq(plan, job, definition, base, reports, region, role)

    def _mq(
        self, plan: Any, job: str, definition: str, base: str, reports: str, region: str, role: str
    ) -> None:
        """The model-quality baseline job and job definition (kept for callers of the former
        mixin; see `AwsMonitoring`)."""
        self.monitoring._mq(plan, job, definition, base, reports, region, role)

    def _clarify(
        self, plan: Any, job: str, definition: str, base: str, reports: str, region: str, role: str
    ) -> None:
        """The explainability baseline job and job definition (kept for callers of the former
        mixin; see `AwsMonitoring`)."""
        self.monitoring._clarify(plan, job, definition, base, reports, region, role)

    # -- workflows: delegates to ``self.workflows`` --------------------------------------
    def deploy_function(self, spec: Any, *, role_arn: str | None = None) -> str:
        """Create (or update) the Lambda function of ``spec``; returns its ARN."""
        return self.workflows.deploy_function(spec, role_arn=role_arn)

    def wait_function(self, name: str, *, timeout: float = 300.0, poll: float = 5.0) -> None:
        """Poll GetFunctionConfiguration until the function is ``Active`` and its last
        update ``Successful``."""
        self.workflows.wait_function(name, timeout=timeout, poll=poll)

    def deploy_workflow(
        self,
        workflow: Any,
        *,
        role_arn: str | None = None,
        lambda_role_arn: str | None = None,
        handlers: dict[str, Any] | None = None,
    ) -> str:
        """Create the workflow's Lambda functions and its state machine; returns its ARN."""
        return self.workflows.deploy_workflow(
            workflow, role_arn=role_arn, lambda_role_arn=lambda_role_arn, handlers=handlers
        )

    def start_execution(
        self, state_machine_arn: str, input: Any = None, *, name: str | None = None
    ) -> str:
        """StartExecution; returns the execution ARN."""
        return self.workflows.start_execution(state_machine_arn, input, name=name)

    def stop_execution(
        self, execution_arn: str, *, error: str | None = None, cause: str | None = None
    ) -> None:
        """StopExecution: the execution ends ``ABORTED``."""
        self.workflows.stop_execution(execution_arn, error=error, cause=cause)

    def execution_history(self, execution_arn: str) -> list[dict[str, Any]]:
        """GetExecutionHistory (all pages), oldest first."""
        return self.workflows.execution_history(execution_arn)

    def describe_execution(self, execution_arn: str, *, history: bool = True) -> Any:
        """DescribeExecution (and its history) as an `smkit.workflow.Execution`."""
        return self.workflows.describe_execution(execution_arn, history=history)

    def run_workflow(self, workflow: Any, input: Any = None, **options: Any) -> Any:
        """Deploy the workflow, start an execution and wait for its end.

        The options (``name``, ``timeout``, ``poll``, ``role_arn``, ``lambda_role_arn``,
        ``handlers``, ``on_start``...) are those of `AwsWorkflows.run_workflow`
        (``backend.workflows``).
        """
        return self.workflows.run_workflow(workflow, input, **options)
