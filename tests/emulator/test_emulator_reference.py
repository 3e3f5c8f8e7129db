"""The emulator's reference page lists exactly the operations of its table, and every
operation in the table is one botocore's service model knows."""

from __future__ import annotations

from pathlib import Path

import botocore.session

from smkit.emulator.reference import END, START, load_all, operations_markdown, render_page

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "emulator.md"


def test_the_reference_page_is_generated_from_the_table() -> None:
    text = PAGE.read_text()
    assert START in text and END in text
    assert render_page(text) == text, (
        "docs/reference/emulator.md is stale: run "
        "python -m smkit.emulator.reference docs/reference/emulator.md"
    )
    for ops in load_all().values():
        for op in ops:
            assert f"| `{op}` |" in text


def test_every_operation_exists_in_botocore_and_has_a_description() -> None:
    session = botocore.session.get_session()
    table = load_all()
    assert {"sagemaker", "sagemaker-runtime"} <= set(table)
    assert {"CreateTrainingJob", "DescribeTrainingJob", "CreateEndpoint"} <= set(
        table["sagemaker"]
    )
    for service, ops in table.items():
        names = set(session.get_service_model(service).operation_names)
        for op, description in ops.items():
            assert op in names, f"{service}:{op} is not an AWS operation"
            assert description, f"{service}:{op} has no description"


def test_render_page_replaces_only_the_marked_block() -> None:
    page = f"# Title\n\nbefore\n\n{START}\nold list\n{END}\n\nafter\n"
    out = render_page(page)
    assert out.startswith("# Title\n\nbefore\n\n")
    assert out.endswith(f"{END}\n\nafter\n")
    assert "old list" not in out
    assert operations_markdown() in out
