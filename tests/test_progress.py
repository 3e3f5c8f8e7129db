"""Progress lines: one line per change off a terminal, one redrawn line on a terminal."""

import io
import time

from smkit import progress
from smkit.report import Report


def test_off_a_terminal_one_line_per_change_and_a_heartbeat():
    out = io.StringIO()
    with progress.activate(progress.Progress(out, tty=False, heartbeat=0.3, prefix="uc")):
        r = Report(name="x")
        with r.timer("train"):
            progress.running("training job j-1")
            time.sleep(1.2)
        with r.timer("deploy"):
            pass
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines[0].startswith("uc [") and lines[0].endswith("] train")
    assert lines[1].endswith("] train: training job j-1")
    assert any(line.endswith("train: training job j-1 (still running)") for line in lines)
    assert lines[-1].endswith("] deploy")


def test_on_a_terminal_the_line_is_redrawn():
    out = io.StringIO()
    with progress.activate(progress.Progress(out, tty=True)):
        progress.stage("executions")
        time.sleep(1.3)
        progress.stage_done("executions")
        progress.stage("read_capture")
    text = out.getvalue()
    assert text.count("\r\x1b[K") >= 2 and "executions" in text
    # a finished step keeps its line; the current one is redrawn in place
    assert "executions\n" in text.replace("\r\x1b[K", "") and "read_capture" in text


def test_silent_without_an_active_progress(capsys):
    r = Report(name="x")
    with r.timer("phase"):
        progress.running("endpoint e")
    assert capsys.readouterr() == ("", "")
