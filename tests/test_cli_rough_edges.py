"""The CLI's rough edges from issue 19: help that lists ``--set`` keys, errors that name
flags and resources, list output with a header, the CLI reference generated from the parsers.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import attrs
import pytest

from smkit.cli import EXIT_CODES, build_parser, main
from smkit.cli_help import format_settings, usecase_settings
from smkit.errors import ConfigError, ValidationError
from smkit.usecases import available_usecases, load_usecase

ROOT = Path(__file__).resolve().parents[1]


def test_run_name_help_lists_the_set_keys_with_defaults(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "wine-monitoring", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: smkit run" in out
    assert "--set keys of wine-monitoring" in out
    assert "drift_sigmas (float, default: 3.0)" in out
    assert "Shift, in training standard deviations" in out  # the field's description
    assert "quick (" not in out  # --quick is its own flag


def test_run_help_without_name_says_how_to_list_keys(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--help"])
    assert exit_info.value.code == 0
    assert "smkit run NAME --help" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(available_usecases()))
def test_every_usecase_lists_every_setting(name):
    fields = [f.name for f in attrs.fields(load_usecase(name).Config) if f.init]
    keys = [s.key for s in usecase_settings(name)]
    assert keys == [f for f in fields if f != "quick"]
    text = format_settings(name)
    for key in keys:
        assert f"  {key} (" in text


def test_train_without_arguments_names_the_flags(tmp_path, capsys):
    assert main(["train", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--entry-point" in err and "--algorithm" in err
    assert "entry_point" not in err


def test_train_errors_name_flags_not_fields():
    from smkit.commands.cmd_train import _flag_names

    out = _flag_names(ValidationError("entry_point 'x.py' not under source_dir", hint="h"))
    assert isinstance(out, ValidationError)
    assert out.message == "--entry-point 'x.py' not under --source-dir"
    assert out.hint == "h"
    same = ConfigError("nothing to translate")
    assert _flag_names(same) is same


def test_train_with_entry_point_and_algorithm_is_refused(tmp_path, capsys):
    argv = ["train", "--entry-point", "t.py", "--algorithm", "xgboost", "--root", str(tmp_path)]
    assert main(argv) == 2
    assert "not both" in capsys.readouterr().err


def test_invoking_an_unknown_endpoint_says_so(tmp_path, capsys):
    code = main(["endpoints", "invoke", "nosuch", "--body", "1,2", "--root", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "no endpoint named 'nosuch'" in err
    assert "000000000000" not in err and "account" not in err


def _fake_session(rows, tuning_rows=()):
    backend = SimpleNamespace(
        list_training_jobs=lambda status=None: list(rows),
        list_tuning_jobs=lambda status=None: list(tuning_rows),
    )
    return SimpleNamespace(backend=backend)


def test_jobs_list_prints_a_header(monkeypatch, capsys):
    from smkit.commands import cmd_train

    rows = [
        {
            "TrainingJobName": "job-1",
            "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed",
            "CreationTime": "2026-12-03 10:00:00.123",
        }
    ]
    monkeypatch.setattr(cmd_train, "session_from_args", lambda args: _fake_session(rows))
    assert main(["jobs", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "SECONDARY", "CREATED"]
    assert lines[1].split()[:2] == ["job-1", "Completed"]
    # columns line up under the header
    assert lines[0].index("STATUS") == lines[1].index("Completed")


def test_jobs_list_tuning_prints_a_header(monkeypatch, capsys):
    from smkit.commands import cmd_train

    rows = [{"HyperParameterTuningJobName": "t-1", "HyperParameterTuningJobStatus": "Completed"}]
    monkeypatch.setattr(cmd_train, "session_from_args", lambda args: _fake_session([], rows))
    assert main(["jobs", "list", "--tuning"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["NAME", "STATUS"]
    assert lines[1].startswith("t-1")


def _cli_reference():
    path = ROOT / "scripts" / "mkdocs" / "cli_reference.py"
    spec = importlib.util.spec_from_file_location("cli_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parsers(parser, path="smkit"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, f"{path} {name}")


def test_cli_reference_has_every_command_flag_and_exit_code():
    text = _cli_reference().render()
    for path, parser in _parsers(build_parser()):
        assert f"`{path}`" in text, path
        for action in parser._actions:
            for option in action.option_strings:
                if option in ("-h", "--help"):
                    continue
                assert f"`{option}" in text, (path, option)
    for code in EXIT_CODES:
        assert f"| {code} |" in text
    assert "`ConfigError`" in text and "`ResourceNotFoundError`" in text
    # defaults are shown
    assert "`'ml.m5.xlarge'`" in text and "`86400`" in text


def test_cli_reference_page_is_generated_not_hand_written():
    page = (ROOT / "docs" / "reference" / "cli.md").read_text()
    assert _cli_reference().MARKER in page
    assert "::: smkit.cli" not in page  # no Python API (build_parser, main) on this page
