"""The emulator's reference list of operations, generated from its operation table."""

from __future__ import annotations

__all__ = ["load_all", "main", "operations_markdown", "render_page"]


def load_all() -> dict[str, dict[str, str]]:
    """Import every handler module (which fills the table) and return the table."""
    from smkit.emulator import lambdas, runtime, sagemaker, stepfunctions  # noqa: F401
    from smkit.emulator.operations import OPERATIONS

    return OPERATIONS


def operations_markdown() -> str:
    """The Markdown list of supported operations, per service (for the reference page)."""
    from smkit.emulator.operations import PROXIED_SERVICES

    table = load_all()
    lines: list[str] = []
    for service in sorted(table):
        lines.append(f"### `{service}`")
        lines.append("")
        lines.append("| Operation | What the emulator does |")
        lines.append("|---|---|")
        for op in sorted(table[service]):
            lines.append(f"| `{op}` | {table[service][op]} |")
        lines.append("")
    lines.append("### Answered by moto")
    lines.append("")
    lines.append(
        ", ".join(f"`{s}`" for s in PROXIED_SERVICES)
        + " and every other service moto implements: requests are forwarded to moto byte for "
        "byte."
    )
    return "\n".join(lines) + "\n"


START = "<!-- operations:start -->"
END = "<!-- operations:end -->"


def render_page(text: str) -> str:
    """``text`` with the block between the operation markers replaced by the current list."""
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{operations_markdown()}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """``python -m smkit.emulator.reference PAGE``: rewrite PAGE's operation list."""
    import sys
    from pathlib import Path

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m smkit.emulator.reference PAGE.md", file=sys.stderr)
        return 2
    page = Path(args[0])
    page.write_text(render_page(page.read_text()))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
