"""Local daemons are told from reused pids by their start, and a wall-clock step (NTP, a
resumed VM) must not make a live supervisor or endpoint server look dead: a CI run once
saw three at the same minute marked Failed while they ran."""

from __future__ import annotations

import os
import sys

import psutil
import pytest

from smkit.backends.local import process

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")


def test_a_live_process_survives_a_wall_clock_step(monkeypatch):
    token = process.process_start_time(os.getpid())
    wall = psutil.Process().create_time()  # how start times were recorded before
    assert isinstance(token, str) and process.alive(os.getpid(), token)
    real = psutil._pslinux.boot_time
    monkeypatch.setattr(psutil._pslinux, "boot_time", lambda: real() + 5.0)  # clock stepped
    assert process.alive(os.getpid(), token)
    assert not process.alive(os.getpid(), wall)  # the old record would read "dead"


def test_another_boot_or_start_is_another_process():
    token = process.process_start_time(os.getpid())
    boot, _, since = token.rpartition("/")
    assert not process.alive(os.getpid(), f"not-{boot}/{since}")
    assert not process.alive(os.getpid(), f"{boot}/{float(since) + 3:.3f}")
    assert not process.alive(os.getpid(), "garbage/x")
    assert not process.alive(2**22 + 12345, token)  # no such pid
