"""The Session's generic verbs (describe/list/stop/delete/logs by kind), backend-independent
parts: kind and verb names, the capability check, the offered-verb table. The behaviour on
each backend is in the contract suites (tests/test_capability_contracts.py)."""

from __future__ import annotations

import pytest

from smkit.backends import Capability, ResourceKind, Verb
from smkit.backends._resources import offered_verbs, resource_kind, run_verb
from smkit.errors import BackendError, ConfigError
from smkit.session import Session


class _TrainingOnly:
    """A backend offering training alone, recording what it was asked."""

    name = "training-only"
    capabilities = frozenset({Capability.TRAINING})
    plan_mode = False

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def supports(self, capability: Capability | str) -> bool:
        return Capability(capability) in self.capabilities

    def describe_training_job(self, name: str) -> dict:
        self.calls.append(("describe", name))
        return {"TrainingJobName": name, "TrainingJobStatus": "Completed"}

    def stop_training_job(self, name: str) -> None:
        self.calls.append(("stop", name))

    def close(self) -> None:
        pass


def test_kind_names_accept_dashes_and_list_the_known_ones() -> None:
    assert resource_kind("training-job") is ResourceKind.TRAINING_JOB
    assert resource_kind(ResourceKind.ENDPOINT) is ResourceKind.ENDPOINT
    with pytest.raises(ConfigError, match="known kinds: training_job, tuning_job, endpoint"):
        resource_kind("notebook_instance")


def test_offered_verbs_table() -> None:
    assert offered_verbs("training_job") == (Verb.DESCRIBE, Verb.LIST, Verb.STOP, Verb.LOGS)
    assert offered_verbs("tuning_job") == (Verb.DESCRIBE, Verb.LIST, Verb.STOP)
    assert offered_verbs("endpoint") == (Verb.DESCRIBE, Verb.LIST, Verb.DELETE)
    assert offered_verbs("execution") == (Verb.DESCRIBE, Verb.LOGS)
    assert offered_verbs("monitoring_schedule") == (Verb.DESCRIBE, Verb.LIST, Verb.DELETE)


def test_dispatch_goes_to_the_declared_method() -> None:
    backend = _TrainingOnly()
    session = Session(backend)
    assert session.describe("training_job", "j1")["TrainingJobName"] == "j1"
    session.stop("training_job", "j1")
    assert backend.calls == [("describe", "j1"), ("stop", "j1")]


def test_a_backend_lacking_the_capability_says_so() -> None:
    session = Session(_TrainingOnly())
    with pytest.raises(BackendError, match="does not offer 'serving'.*it offers: training"):
        session.describe("endpoint", "e1")
    with pytest.raises(BackendError, match="does not offer 'workflows'"):
        session.logs("execution", "arn:aws:states:us-east-1:1:execution:m:x")


def test_unknown_verb_and_refused_verb_send_nothing() -> None:
    backend = _TrainingOnly()
    with pytest.raises(ConfigError, match="unknown verb 'restart'"):
        run_verb(backend, "restart", "training_job", "j1")
    with pytest.raises(ConfigError, match="delete is not a verb of training_job") as info:
        Session(backend).delete("training_job", "j1")
    assert info.value.hint == "training_job offers: describe, list, stop, logs"
    assert backend.calls == []
