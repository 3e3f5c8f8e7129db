"""Shared fixtures: smkit's own (moto server, sessions) plus an isolated SMKIT_HOME."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["smkit.testing.fixtures"]

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Every test gets its own SMKIT_HOME and no ambient backend choice."""
    monkeypatch.setenv("SMKIT_HOME", str(tmp_path / "smkit-home"))
    monkeypatch.delenv("SMKIT_BACKEND", raising=False)
