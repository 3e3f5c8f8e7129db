"""``smkit monitor baseline|check|run-due``: SageMaker's data-quality analysis on any file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from smkit.backends._protocol import Capability
from smkit.commands._common import add_backend_args, example, print_json, session_from_args

ORDER = 40


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``monitor`` with ``baseline``, ``check`` and ``run-due``."""
    mon = sub.add_parser(
        "monitor",
        help="data-quality baselines and checks; run due monitoring schedules",
        description="Model Monitor's data-quality analysis, locally: statistics.json and "
        "constraints.json from a baseline dataset, constraint_violations.json for new data, "
        "and the executions of due monitoring schedules.",
        **example("smkit monitor baseline train.csv --out baseline/"),
    )
    mon_sub = mon.add_subparsers(dest="monitor_command", metavar="ACTION", required=True)

    base = mon_sub.add_parser(
        "baseline",
        help="write statistics.json and constraints.json for a dataset",
        description="Compute SageMaker's statistics.json and suggested constraints.json for a "
        "CSV (header or not), JSON lines or capture JSONL file.",
        **example("smkit monitor baseline train.csv --no-header --out baseline/"),
    )
    base.add_argument("data", help="CSV, JSON lines or SageMaker capture JSONL file")
    base.add_argument("--no-header", action="store_true", help="the CSV has no header row")
    base.add_argument("--out", required=True, help="output directory")
    base.set_defaults(func=_baseline)

    check = mon_sub.add_parser(
        "check",
        help="check a dataset against a baseline; write constraint_violations.json",
        description="Compute the dataset's statistics and check them against the baseline's "
        "constraints (and statistics, for drift). Exit code 0 without violations, 3 with.",
        **example("smkit monitor check today.csv --baseline baseline/ --out check/"),
    )
    check.add_argument("data", help="CSV, JSON lines or SageMaker capture JSONL file")
    check.add_argument("--baseline", required=True, help="directory with the baseline's files")
    check.add_argument("--no-header", action="store_true", help="the CSV has no header row")
    check.add_argument("--out", required=True, help="output directory")
    check.add_argument("--report", action="store_true", help="also write report.html")
    check.set_defaults(func=_check)

    due = mon_sub.add_parser(
        "run-due",
        help="run the monitoring executions whose schedule time has come",
        description="Run every Scheduled monitoring schedule of the local backend whose cron "
        "time has passed since its last run; print the executions.",
        **example("smkit monitor run-due --json"),
    )
    due.add_argument("--json", action="store_true", help="print JSON")
    add_backend_args(due)
    due.set_defaults(func=_run_due)


def _baseline(args: argparse.Namespace) -> int:
    from smkit.monitoring.engines.data_quality import (
        compute_statistics,
        file_statistics,
        suggest_constraints,
    )
    from smkit.monitoring.files import write_json_file

    out = Path(args.out)
    stats = compute_statistics(args.data, header=not args.no_header)
    constraints = suggest_constraints(stats)
    write_json_file(out / "statistics.json", file_statistics(stats))
    write_json_file(out / "constraints.json", constraints)
    print(
        f"{stats['dataset']['item_count']} rows, {len(stats['features'])} features -> "
        f"{out / 'statistics.json'}, {out / 'constraints.json'}"
    )
    return 0


def _check(args: argparse.Namespace) -> int:
    from smkit.monitoring.engines.data_quality import (
        check_constraints,
        compute_statistics,
        file_statistics,
        rename_by_position,
    )
    from smkit.monitoring.files import read_constraints, read_statistics, write_json_file

    base = Path(args.baseline)
    constraints = read_constraints(base / "constraints.json")
    base_stats = (
        read_statistics(base / "statistics.json") if (base / "statistics.json").is_file() else None
    )
    stats = compute_statistics(args.data, header=not args.no_header)
    # capture JSONL is header-less (_c0 = output, then inputs): a baseline made from a CSV
    # with a header names the same columns, matched by position as a scheduled run does
    rename_by_position(stats, base_stats or constraints)
    violations = check_constraints(stats, constraints, base_stats)
    out = Path(args.out)
    write_json_file(out / "statistics.json", file_statistics(stats))
    write_json_file(out / "constraint_violations.json", violations)
    if args.report:
        from smkit.monitoring.report import execution_report

        execution_report(
            out,
            title=f"check of {Path(args.data).name}",
            monitor_type="DataQuality",
            status="CompletedWithViolations" if violations["violations"] else "Completed",
            violations=violations,
            statistics=stats,
            baseline_statistics=base_stats,
        )
    for v in violations["violations"]:
        print(f"{v['constraint_check_type']:<26} {v['feature_name']}: {v['description']}")
    from smkit.report import plural

    found = plural(len(violations["violations"]), "violation")
    print(f"{found} -> {out / 'constraint_violations.json'}")
    return 3 if violations["violations"] else 0


def _run_due(args: argparse.Namespace) -> int:
    session = session_from_args(args)
    if not session.supports(Capability.CALLER_SCHEDULER):  # aws schedules run on SageMaker
        print("this backend runs schedules itself")
        return 0
    scheduler: Any = session.backend  # offers run_due() with CALLER_SCHEDULER
    executions = scheduler.run_due()
    rows = [
        {
            "name": e.name,
            "schedule": e.schedule,
            "type": e.monitor_type,
            "status": e.status,
            "violations": len(e.violations.get("violations", [])),
            "message": e.message,
            "report": e.uris.get("report_html"),
        }
        for e in executions
    ]
    if args.json:
        print_json(rows)
    else:
        from smkit.report import plural

        for r in rows:
            msg = r["message"] or ""
            print(f"{r['schedule']}: {r['status']} ({plural(r['violations'], 'violation')}) {msg}")
        print(f"{plural(len(rows), 'execution')} run")
    return 0
