"""A minimal third-party backend: workflows only, executions kept in memory.

It reuses smkit's local object store, catalog and ASL interpreter, declares the one
capability it implements, and passes ``WorkflowContract``, ``StoreContract`` and
``CatalogContract`` (see tests/test_example_backend.py and docs/how-to/write-a-backend.md).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from smkit.backends import Capability
from smkit.backends.local.asl import Executor
from smkit.backends.local.catalog import LocalCatalog
from smkit.backends.local.store import LocalStore
from smkit.errors import ConfigError, ResourceNotFoundError
from smkit.workflow import Execution, Workflow
from smkit.workflow.execution import parse_input

ACCOUNT, REGION = "000000000000", "us-east-1"


class MemoryWorkflowBackend:
    """Runs workflows in this process; knows nothing of training, serving or monitoring."""

    name = "memory-workflows"
    capabilities = frozenset({Capability.WORKFLOWS, Capability.IN_PROCESS_HANDLERS})
    plan_mode = False

    def __init__(self, root: str | Path | None = None, **options: Any) -> None:
        # options meant for other backends (region=, role=...) are ignored, as every backend does
        root = Path(root or tempfile.mkdtemp(prefix="smkit-memory-"))
        self.store = LocalStore(root / "s3")
        self.catalog = LocalCatalog(root / "catalog.db")
        self.executions: dict[str, Execution] = {}

    # -- what every backend offers (smkit.backends.Backend) --------------------------------
    def supports(self, capability: Capability | str) -> bool:
        return Capability(capability) in self.capabilities

    def default_bucket(self) -> str:
        return "memory"

    def plan(self) -> list[Any]:
        return []  # nothing is ever sent anywhere

    def describe(self, kind: str, name: str) -> Any:
        return self.catalog.describe(kind, name)

    def close(self) -> None:
        self.catalog.close()

    # -- the workflows capability (smkit.backends.WorkflowBackend) -------------------------
    def deploy_workflow(self, workflow: Workflow, **options: Any) -> dict[str, Any]:
        arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{workflow.name}"
        return {"stateMachineArn": arn, "name": workflow.name, "definition": workflow.to_asl()}

    def run_workflow(self, workflow: Workflow, input: Any = None, **options: Any) -> Execution:
        data = parse_input({} if input is None else input)  # FormatError before running
        on_start = options.pop("on_start", None)
        unknown = set(options) - {"handlers", "name", "timeout"}
        if unknown:
            raise ConfigError(f"unknown run_workflow option(s) {sorted(unknown)}")
        self.deploy_workflow(workflow)
        executor = Executor(workflow, region=REGION, account=ACCOUNT, store=self.store, **options)
        if on_start is not None:
            on_start(executor.arn)
        execution = executor.run(data)
        self.executions[execution.arn] = execution
        return execution

    def describe_execution(self, execution_id: str) -> Execution:
        try:
            return self.executions[execution_id]
        except KeyError:
            raise ResourceNotFoundError(f"no execution {execution_id!r}") from None

    def execution_history(self, execution_id: str) -> list[dict[str, Any]]:
        return list(self.describe_execution(execution_id).events)

    def stop_execution(self, execution_id: str, **options: Any) -> None:
        # executions end before run_workflow returns: there is never one to stop
        self.describe_execution(execution_id)
