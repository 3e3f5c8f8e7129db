"""``smkit emulator start|stop|status``: the offline AWS emulator as a daemon."""

from __future__ import annotations

import argparse

from smkit.commands._common import example, print_json

ORDER = 80


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``emulator``."""
    p = sub.add_parser(
        "emulator",
        help="run an offline AWS endpoint where SageMaker calls really run (boto3, SDK)",
        description="One HTTP server on 127.0.0.1 that speaks the AWS protocols: SageMaker "
        "training jobs and endpoints run with smkit's local engines, S3 / IAM / STS / "
        "CloudWatch Logs are served by moto. Point code at it with AWS_ENDPOINT_URL.",
        **example("smkit emulator start --port 4599; export AWS_ENDPOINT_URL=http://127.0.0.1:4599"),
    )
    esub = p.add_subparsers(dest="emulator_command", metavar="ACTION")

    st = esub.add_parser("start", help="start the daemon and print its URL")
    st.add_argument("--port", type=int, help="port on 127.0.0.1 (default 4599; 0: any free)")
    st.add_argument("--root", help="state directory (default $SMKIT_HOME/emulator)")
    st.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for it")
    st.add_argument("--json", action="store_true", help="print the status as JSON")
    st.set_defaults(func=_start)

    sp = esub.add_parser("stop", help="stop the daemon (and the endpoints it started)")
    sp.add_argument("--root", help="state directory (default $SMKIT_HOME/emulator)")
    sp.set_defaults(func=_stop)

    ss = esub.add_parser("status", help="whether it runs, and its URL")
    ss.add_argument("--root", help="state directory (default $SMKIT_HOME/emulator)")
    ss.add_argument("--json", action="store_true", help="print JSON")
    ss.set_defaults(func=_status)

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _start(args: argparse.Namespace) -> int:
    from smkit.emulator import daemon

    info = daemon.start(args.root, args.port, timeout=args.timeout)
    if args.json:
        print_json(info)
    else:
        print(info["url"])
        print(f"pid {info['pid']}; export AWS_ENDPOINT_URL={info['url']}")
    return 0


def _stop(args: argparse.Namespace) -> int:
    from smkit.emulator import daemon

    print("stopped" if daemon.stop(args.root) else "not running")
    return 0


def _status(args: argparse.Namespace) -> int:
    from smkit.emulator import daemon

    info = daemon.status(args.root)
    if args.json:
        print_json(info)
    elif info["running"]:
        print(f"running at {info['url']} (pid {info['pid']}, root {info['root']})")
    else:
        print(f"not running (root {info['root']})")
    return 0 if info["running"] else 1
