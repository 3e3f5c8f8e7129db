"""``smkit emulator start|status|stop``: a daemon with a pid file and a printed URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smkit.cli import main

pytestmark = pytest.mark.timeout(120)


def test_start_status_stop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "emu"
    assert main(["emulator", "status", "--root", str(root)]) == 1
    assert "not running" in capsys.readouterr().out
    assert main(["emulator", "start", "--root", str(root), "--port", "0", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    try:
        assert info["running"] is True
        assert info["url"].startswith("http://127.0.0.1:")
        state = json.loads((root / "emulator.json").read_text())
        assert state["pid"] == info["pid"]
        # a second start finds the running one
        assert main(["emulator", "start", "--root", str(root), "--port", "0", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["pid"] == info["pid"]
        assert main(["emulator", "status", "--root", str(root)]) == 0
        assert info["url"] in capsys.readouterr().out
    finally:
        assert main(["emulator", "stop", "--root", str(root)]) == 0
    assert capsys.readouterr().out.strip() == "stopped"
    assert not (root / "emulator.json").exists()
    assert main(["emulator", "status", "--root", str(root)]) == 1
