import pytest

import smkit
from smkit.backends import _registry
from smkit.errors import MissingExtraError, UnknownBackendError


def test_default_is_local(tmp_path):
    s = smkit.Session()
    assert s.name == "local"
    assert str(s.backend.root).endswith("smkit-home")


def test_env_selects_backend(monkeypatch):
    monkeypatch.setenv("SMKIT_BACKEND", "aws")
    s = smkit.Session(plan=True, region="eu-west-1")
    assert s.name == "aws" and s.plan_mode


def test_argument_beats_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SMKIT_BACKEND", "aws")
    assert smkit.Session("local", root=tmp_path).name == "local"


def test_unknown_backend_lists_known():
    with pytest.raises(UnknownBackendError) as info:
        smkit.Session("azure")
    assert "'azure'" in str(info.value) and "local" in str(info.value) and "aws" in str(info.value)


def test_missing_extra_names_it(monkeypatch):
    _registry.register("broken", "smkit_no_such_module:Backend")
    monkeypatch.setitem(_registry._EXTRA, "broken", "broken-extra")
    try:
        with pytest.raises(MissingExtraError, match=r"smkit\[broken-extra\]"):
            smkit.Session("broken")
    finally:
        _registry._registered.pop("broken")


def test_entry_points_registered():
    assert {"local", "aws"} <= set(_registry.available())


def test_public_api_sorted_and_resolvable():
    assert smkit.__all__ == sorted(smkit.__all__)
    for name in smkit.__all__:
        assert getattr(smkit, name) is not None
