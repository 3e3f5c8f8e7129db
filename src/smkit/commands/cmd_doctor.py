"""``smkit doctor``: what is installed and configured (never printing secrets)."""

from __future__ import annotations

import argparse
import importlib.util
import os

from smkit.commands._common import example, print_json

ORDER = 90

EXTRAS = {
    "aws": ["boto3", "sagemaker"],
    "autogluon": ["autogluon.tabular"],
    "torch": ["torch", "torchvision"],
    "docs": ["mkdocs", "mkdocstrings"],
    "test": ["pytest", "hypothesis", "moto"],
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``doctor``."""
    p = sub.add_parser(
        "doctor",
        help="check extras, the local root and AWS configuration",
        description="Report installed extras, the local root and its size, "
        "running endpoints, and whether AWS credentials and a region are set.",
        **example("smkit doctor --json"),
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_doctor)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _size(path: str) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(dirpath, f))
            except OSError:
                pass
    return total


def doctor_report() -> dict:
    """The facts ``smkit doctor`` prints."""
    from smkit import __version__
    from smkit.backends import _registry
    from smkit.backends.local import default_root

    root = default_root()
    report: dict = {
        "version": __version__,
        "backends": _registry.available(),
        "extras": {k: all(_installed(m) for m in mods) for k, mods in EXTRAS.items()},
        "local_root": str(root),
        "local_root_exists": root.is_dir(),
        "local_root_bytes": _size(str(root)) if root.is_dir() else 0,
        "endpoints_in_service": [],
    }
    if (root / "catalog.db").is_file():
        from smkit.backends.local.catalog import LocalCatalog

        cat = LocalCatalog(root / "catalog.db")
        report["endpoints_in_service"] = [r.name for r in cat.list("endpoint", status="InService")]
        cat.close()
    aws: dict = {
        "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        "credentials": False,
        "credential_source": None,
    }
    if report["extras"]["aws"]:
        try:
            import boto3

            sess = boto3.Session()
            creds = sess.get_credentials()
            aws["region"] = aws["region"] or sess.region_name
            aws["credentials"] = creds is not None
            aws["credential_source"] = getattr(creds, "method", None) if creds else None
        except Exception as exc:
            aws["error"] = type(exc).__name__
    report["aws"] = aws
    return report


def _doctor(args: argparse.Namespace) -> int:
    report = doctor_report()
    if args.json:
        print_json(report)
        return 0
    print(f"smkit {report['version']}")
    print(f"backends: {', '.join(report['backends'])}")
    for extra, ok in report["extras"].items():
        print(
            f"  extra {extra:<10} "
            + ("installed" if ok else f"missing (pip install 'smkit[{extra}]')")
        )
    print(
        f"local root: {report['local_root']} "
        f"({report['local_root_bytes'] / 1e6:.1f} MB"
        + ("" if report["local_root_exists"] else ", not created yet")
        + ")"
    )
    eps = report["endpoints_in_service"]
    print(f"endpoints in service: {', '.join(eps) if eps else 'none'}")
    aws = report["aws"]
    print(
        f"aws region: {aws['region'] or 'not set'}; credentials: "
        f"{'found (' + str(aws['credential_source']) + ')' if aws['credentials'] else 'not found'}"
    )
    return 0
