"""The worked example of docs/how-to/write-a-backend.md is a real backend: the contract suites
run against it, and the page shows the example file verbatim."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from smkit.backends import Capability, WorkflowBackend
from smkit.errors import BackendError
from smkit.session import Session
from smkit.testing.contract import CatalogContract, StoreContract, WorkflowContract

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "workflow_backend.py"
HOWTO = ROOT / "docs" / "how-to" / "write-a-backend.md"


def _load():
    spec = importlib.util.spec_from_file_location("workflow_backend_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = _load()


@pytest.fixture
def memory_backend(tmp_path):
    backend = example.MemoryWorkflowBackend(root=tmp_path / "memory", region="ignored")
    yield backend
    backend.close()


class TestExampleWorkflows(WorkflowContract):
    @pytest.fixture
    def backend(self, memory_backend):
        return memory_backend


class TestExampleStore(StoreContract):
    @pytest.fixture
    def store(self, memory_backend):
        return memory_backend.store


class TestExampleCatalog(CatalogContract):
    @pytest.fixture
    def catalog(self, memory_backend):
        return memory_backend.catalog


def test_it_is_a_workflow_backend_and_says_what_it_lacks(memory_backend) -> None:
    assert isinstance(memory_backend, WorkflowBackend)
    session = Session(memory_backend)
    assert session.supports(Capability.WORKFLOWS) and not session.supports("training")
    with pytest.raises(BackendError, match="does not offer 'training'.*it offers: "):
        session.describe("training_job", "any")
    with pytest.raises(BackendError, match="does not offer 'serving'"):
        session.deploy(None, None)  # type: ignore[arg-type]


def test_the_howto_shows_the_example_file_verbatim() -> None:
    blocks = re.findall(r"```python\n(.*?)```", HOWTO.read_text(), re.S)
    assert EXAMPLE.read_text() in blocks
