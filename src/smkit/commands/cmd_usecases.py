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
    import sys

    from smkit import progress
    from smkit.report import fmt_number
    from smkit.usecases import build_config, load_usecase
    from smkit.usecases._run import Interrupted, RunContext, describe_run

    usecase = load_usecase(args.name)
    settings = parse_pairs(args.settings)
    config = build_config(usecase, settings, quick=args.quick)
    out = Path(args.out or Path("out") / args.name)
    base_session = session_from_args(args)
    context = RunContext(base_session)
    session = context.session
    start = time.perf_counter()
    try:
        with context.signals(), progress.activate(progress.Progress(prefix=usecase.name)):
            try:
                report = usecase.run(session, config, out)
            except KeyboardInterrupt as exc:
                interrupted = context.interrupted or (
                    exc if isinstance(exc, Interrupted) else Interrupted(2)
                )
                return _stop_after_interrupt(context, interrupted, start)
            report.timings.setdefault("total", round(time.perf_counter() - start, 3))
            if session.plan_mode:
                from smkit.report import to_jsonable

                plan = [r.to_dict() for r in session.plan()]
                report.details["plan"] = plan
                report.metrics["planned_requests"] = len(plan)
                (out).mkdir(parents=True, exist_ok=True)
                (out / "plan.json").write_text(json.dumps(to_jsonable(plan), indent=2) + "\n")
                report.artifacts["plan"] = str(out / "plan.json")
                report.headline(
                    f"Plan only: {len(plan)} AWS requests recorded and validated; nothing was "
                    "sent, so there are no results.",
                    [("planned requests", len(plan))],
                    next_steps=[f"Read {out / 'plan.json'}, then run without --plan."],
                )
            describe_run(report, usecase, config, settings, base_session)
            paths = report.write(out)
    except KeyboardInterrupt:  # a signal while the report was written
        return _stop_after_interrupt(context, context.interrupted or Interrupted(2), start)
    finally:
        base_session.close()
    print(f"{usecase.name}: {report.status_label} in {time.perf_counter() - start:.1f}s")
    if report.verdict:
        print(f"  {report.verdict}")
    for n in report.key_numbers:
        print(f"  {n['label']}: {fmt_number(n['value'])}")
    for caveat in report.caveats:
        print(f"  caveat: {caveat}")
    for key, value in report.artifacts.items():
        print(f"  {key} -> {value}")
    print(f"report: {paths['json']}  {paths['html']}")
    sys.stdout.flush()
    return 0 if report.status == "Succeeded" else 1


def _stop_after_interrupt(context: object, interrupted: object, start: float) -> int:
    """Stop what the run started, say what was stopped; the exit code (130 for SIGINT)."""
    import signal
    import sys

    from smkit.usecases._run import Interrupted, RunContext

    assert isinstance(context, RunContext) and isinstance(interrupted, Interrupted)
    stopped, failed, ended = context.cleanup()
    name = signal.Signals(interrupted.signum).name
    lines = [f"interrupted by {name} after {time.perf_counter() - start:.1f}s"]
    if stopped:
        lines.append("stopped: " + "; ".join(stopped))
    if ended:
        lines.append("already stopped while the run unwound: " + "; ".join(ended))
    if not stopped and not ended:
        lines.append("nothing the run started was still running")
    lines.extend(f"could not stop {f}" for f in failed)
    for line in lines:
        try:
            print(line, file=sys.stderr, flush=True)
        except (OSError, ValueError):  # the terminal is gone (SIGHUP)
            pass
    return interrupted.exit_code
