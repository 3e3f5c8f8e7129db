"""``smkit usecases list`` and ``smkit run NAME``."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from smkit.commands._common import add_backend_args, example, parse_pairs, session_from_args

ORDER = 10


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``usecases`` and ``run``."""
    uc = sub.add_parser(
        "usecases",
        help="list the use-case plugins",
        description="List the installed use-case plugins.",
        **example("smkit usecases list"),
    )
    uc_sub = uc.add_subparsers(dest="usecases_command", metavar="ACTION")
    ls = uc_sub.add_parser("list", help="name and description of each use case")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=_list)
    uc.set_defaults(func=_list, json=False)

    run = sub.add_parser(
        "run",
        help="run a use case end to end and write its report",
        description="Run a use case; writes OUT/report.json and OUT/report.html.",
        **example("smkit run wine-monitoring --quick --out out/wine"),
    )
    run.add_argument("name", help="use case name (see `smkit usecases list`)")
    run.add_argument("--quick", action="store_true", help="small, fast run (what CI runs)")
    run.add_argument("--out", default=None, help="output directory (default: out/NAME)")
    run.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        dest="settings",
        help="set a config field (repeatable)",
    )
    add_backend_args(run)
    run.set_defaults(func=_run)


def _list(args: argparse.Namespace) -> int:
    from smkit.usecases import available_usecases, load_usecase

    rows = []
    for name in available_usecases():
        try:
            rows.append((name, load_usecase(name).description))
        except Exception as exc:
            rows.append((name, f"(cannot load: {exc})"))
    if args.json:
        print(json.dumps([{"name": n, "description": d} for n, d in rows], indent=2))
        return 0
    width = max((len(n) for n, _ in rows), default=4)
    for name, desc in rows:
        print(f"{name:<{width}}  {desc}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from smkit.usecases import build_config, load_usecase

    usecase = load_usecase(args.name)
    config = build_config(usecase, parse_pairs(args.settings), quick=args.quick)
    out = Path(args.out or Path("out") / args.name)
    session = session_from_args(args)
    start = time.perf_counter()
    try:
        report = usecase.run(session, config, out)
        report.timings.setdefault("total", round(time.perf_counter() - start, 3))
        if session.plan_mode:
            from smkit.report import to_jsonable

            plan = [r.to_dict() for r in session.plan()]
            report.details["plan"] = plan
            report.metrics["planned_requests"] = len(plan)
            (out).mkdir(parents=True, exist_ok=True)
            (out / "plan.json").write_text(json.dumps(to_jsonable(plan), indent=2) + "\n")
            report.artifacts["plan"] = str(out / "plan.json")
        paths = report.write(out)
    finally:
        session.close()
    print(f"{usecase.name}: {report.status} in {time.perf_counter() - start:.1f}s")
    for key, value in report.metrics.items():
        print(f"  {key}: {value}")
    for key, value in report.artifacts.items():
        print(f"  {key} -> {value}")
    print(f"report: {paths['json']}  {paths['html']}")
    return 0 if report.status == "Succeeded" else 1
