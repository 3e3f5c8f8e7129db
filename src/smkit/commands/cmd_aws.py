"""``smkit aws policy [USECASE]``: least-privilege IAM policies from a use case's plan."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from smkit.commands._common import add_role_args, example, parse_pairs, print_json

ORDER = 80


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``aws policy``."""
    aws = sub.add_parser(
        "aws",
        help="AWS helpers (IAM policies)",
        description="Helpers for running smkit on AWS.",
        **example("smkit aws policy wine-monitoring --region eu-west-1"),
    )
    aws_sub = aws.add_subparsers(dest="aws_command", metavar="ACTION")
    pol = aws_sub.add_parser(
        "policy",
        help="print the IAM policies a use case needs",
        description="Run the use case in plan mode (nothing is sent) and print the IAM policy "
        "documents: the caller's, and for each role it passes (SageMaker, Lambda, Step "
        "Functions) a trust policy and a permission policy. Resources are scoped by prefix "
        "wildcards (names without their timestamps) so the policies stay valid for later runs.",
        **example("smkit aws policy staging-demo --bucket my-bucket --region eu-west-1"),
    )
    pol.add_argument(
        "usecase",
        nargs="?",
        default="staging-demo",
        help="use case to plan (default: staging-demo)",
    )
    pol.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        dest="settings",
        help="use-case setting (repeatable)",
    )
    pol.add_argument("--full", action="store_true", help="plan the full run, not --quick")
    pol.add_argument("--region", default=None, help="region for the ARNs (default us-east-1)")
    pol.add_argument("--account", default=None, help="account id for the ARNs")
    add_role_args(pol)
    pol.add_argument("--bucket", default=None, help="bucket the use case writes to")
    pol.set_defaults(func=_policy)
    aws.set_defaults(func=lambda a: (aws.print_help(), 2)[1])


def _policy(args: argparse.Namespace) -> int:
    from smkit.backends.aws import PLAN_ACCOUNT
    from smkit.backends.aws.policy import policies_for
    from smkit.session import Session
    from smkit.usecases import build_config, load_usecase

    usecase = load_usecase(args.usecase)
    config = build_config(usecase, parse_pairs(args.settings), quick=not args.full)
    region = args.region or "us-east-1"
    account = args.account or PLAN_ACCOUNT
    options = {"plan": True, "region": region, "account": account}
    for key in ("role", "lambda_role", "states_role"):
        if getattr(args, key, None):
            options[key] = getattr(args, key)
    if args.bucket:
        options["bucket"] = args.bucket
    session = Session("aws", **options)
    with tempfile.TemporaryDirectory(prefix="smkit-policy-") as tmp:
        usecase.run(session, config, Path(tmp))
    print_json(policies_for(session.plan(), region=region, account=account))
    return 0
