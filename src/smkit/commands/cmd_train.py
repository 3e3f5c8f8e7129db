"""``smkit train``, ``smkit tune`` and ``smkit jobs list|describe|logs|stop``."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from smkit.backends._protocol import Capability
from smkit.commands._common import (
    add_backend_args,
    example,
    parse_pairs,
    print_json,
    session_from_args,
)
from smkit.errors import ConfigError

ORDER = 20


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def _add_spec_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("training job")
    g.add_argument("--entry-point", help="training script (relative to --source-dir)")
    g.add_argument("--source-dir", help="directory copied as the job's code")
    g.add_argument("--algorithm", choices=["xgboost", "autogluon"], help="a built-in algorithm")
    g.add_argument("--framework", help="sklearn, pytorch, xgboost, autogluon or custom")
    g.add_argument("--framework-version", help="image version on AWS")
    g.add_argument("--image-uri", help="custom training image (AWS)")
    g.add_argument(
        "--hp", action="append", metavar="KEY=VALUE", help="hyperparameter (JSON or text)"
    )
    g.add_argument("--channel", action="append", metavar="NAME=PATH_OR_URI", help="input channel")
    g.add_argument("--content-type", help="content type of every channel (e.g. text/csv)")
    g.add_argument(
        "--metric", action="append", metavar="NAME=REGEX", help="metric read from the logs"
    )
    g.add_argument("--rule", action="append", help="Debugger rule (e.g. loss_not_decreasing)")
    g.add_argument("--instance-type", default="ml.m5.xlarge")
    g.add_argument(
        "--instance-count",
        type=int,
        default=1,
        help="instances (local: one process per host, algo-1 ... algo-N)",
    )
    g.add_argument("--max-runtime", type=int, default=86400, help="seconds")
    g.add_argument("--output-path", help="s3:// prefix for the model artifact")
    g.add_argument("--env", action="append", metavar="KEY=VALUE", help="environment variable")
    g.add_argument("--name", help="job name (default: generated)")
    g.add_argument(
        "--inherit-env",
        action="store_true",
        help="local: give the script this shell's whole environment (default: only --env, "
        "the SageMaker variables and PATH/HOME/locale)",
    )
    g.add_argument(
        "--dependency",
        action="append",
        metavar="PATH",
        help="directory or file copied next to the entry point (the SDK's dependencies=)",
    )
    g.add_argument(
        "--no-requirements",
        action="store_true",
        help="local: do not pip install the code's requirements.txt (the toolkit always does)",
    )


#: TrainingSpec field -> the flag that sets it (errors name the flag, not the field)
_FLAGS = {
    "entry_point": "--entry-point",
    "source_dir": "--source-dir",
    "framework_version": "--framework-version",
    "image_uri": "--image-uri",
    "hyperparameters": "--hp",
    "inputs": "--channel",
    "metric_definitions": "--metric",
    "instance_type": "--instance-type",
    "instance_count": "--instance-count",
    "max_runtime": "--max-runtime",
    "output_path": "--output-path",
    "environment": "--env",
    "inherit_env": "--inherit-env",
}


def _flag_names(exc: ConfigError) -> ConfigError:
    """``exc`` with TrainingSpec field names replaced by the flags that set them."""
    import re

    pattern = re.compile(r"\b(" + "|".join(_FLAGS) + r")\b")
    message = pattern.sub(lambda m: _FLAGS[m.group(1)], exc.message)
    if message == exc.message:
        return exc
    try:
        return type(exc)(message, hint=exc.hint, **exc.context)
    except TypeError:
        return ConfigError(message, hint=exc.hint)


def _spec(args: argparse.Namespace) -> Any:
    if not args.entry_point and not args.algorithm:
        raise ConfigError(
            "missing --entry-point FILE (script mode, with --source-dir DIR) or "
            "--algorithm NAME (built-in: xgboost, autogluon)",
            hint="see `smkit train --help`",
        )
    if args.entry_point and args.algorithm:
        raise ConfigError("give --entry-point or --algorithm, not both")
    try:
        return _build_spec(args)
    except ConfigError as exc:
        raise _flag_names(exc) from exc


def _build_spec(args: argparse.Namespace) -> Any:
    from smkit.training import Channel, TrainingSpec

    channels = {
        name: Channel(uri, content_type=args.content_type)
        for name, uri in parse_pairs(args.channel, "--channel").items()
    }
    return TrainingSpec(
        entry_point=args.entry_point,
        source_dir=args.source_dir,
        algorithm=args.algorithm,
        framework=args.framework,
        framework_version=args.framework_version,
        image_uri=args.image_uri,
        hyperparameters={k: _value(v) for k, v in parse_pairs(args.hp, "--hp").items()},
        inputs=channels,
        metric_definitions=parse_pairs(args.metric, "--metric"),
        rules=args.rule or (),
        instance_type=args.instance_type,
        instance_count=args.instance_count,
        max_runtime=args.max_runtime,
        output_path=args.output_path,
        environment=parse_pairs(args.env, "--env"),
        inherit_env=getattr(args, "inherit_env", False),
        dependencies=getattr(args, "dependency", None) or (),
        install_requirements=not getattr(args, "no_requirements", False),
    )


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``train``, ``tune`` and ``jobs``."""
    p = sub.add_parser(
        "train",
        help="run a training job (a SageMaker training script, or a built-in algorithm)",
        description="Run a training job under SageMaker's training-container contract. "
        "Locally the script runs in a subprocess with /opt/ml-shaped directories; its logs "
        "stream here. With --out DIR, DIR receives job.json and model.tar.gz.",
        **example(
            "smkit train --entry-point train.py --source-dir src --hp epochs=5 "
            "--channel train=data/train.csv --metric 'loss=loss=([0-9.]+)' --out out/job"
        ),
    )
    _add_spec_args(p)
    p.add_argument("--out", help="directory for job.json and a copy of model.tar.gz")
    p.add_argument("--no-wait", action="store_true", help="start the job and return")
    p.add_argument("--quiet", action="store_true", help="do not stream the logs")
    add_backend_args(p)
    p.set_defaults(func=_train)

    t = sub.add_parser(
        "tune",
        help="run a hyperparameter tuning job",
        description="Tune hyperparameters: ranges are NAME=continuous:MIN:MAX[:SCALING], "
        "NAME=integer:MIN:MAX[:SCALING] or NAME=categorical:A,B,C.",
        **example(
            "smkit tune --algorithm xgboost --hp num_round=50 --channel train=s3://smkit/d/train/ "
            "--channel validation=s3://smkit/d/validation/ --content-type text/csv "
            "--range eta=continuous:0.01:0.5:Logarithmic --range max_depth=integer:2:8 "
            "--objective validation:rmse --max-jobs 8 --max-parallel 2"
        ),
    )
    _add_spec_args(t)
    t.add_argument("--range", action="append", metavar="NAME=SPEC", required=True)
    t.add_argument("--objective", required=True, help="objective metric name")
    t.add_argument("--objective-type", default="Minimize", choices=["Minimize", "Maximize"])
    t.add_argument("--objective-regex", help="regex of the objective if not a --metric")
    t.add_argument("--strategy", default="Bayesian", choices=["Bayesian", "Random", "Grid"])
    t.add_argument("--max-jobs", type=int)
    t.add_argument("--max-parallel", type=int, default=1)
    t.add_argument("--early-stopping", default="Off", choices=["Off", "Auto"])
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--plot", help="write the objective-per-trial plot here (PNG)")
    t.add_argument("--json", action="store_true", help="print the tuning job record")
    add_backend_args(t)
    t.set_defaults(func=_tune)

    j = sub.add_parser(
        "jobs",
        help="list, describe, show logs of, or stop training jobs",
        description="Training jobs of the backend. Jobs whose process died show Failed.",
        **example("smkit jobs list --status InProgress"),
    )
    jsub = j.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    jl = jsub.add_parser("list", help="list training jobs", **example("smkit jobs list --json"))
    jl.add_argument("--status", help="only jobs with this status")
    jl.add_argument("--tuning", action="store_true", help="list tuning jobs instead")
    jl.add_argument("--json", action="store_true")
    add_backend_args(jl)
    jl.set_defaults(func=_jobs_list)
    jd = jsub.add_parser(
        "describe", help="a job's DescribeTrainingJob record", **example("smkit jobs describe N")
    )
    jd.add_argument("name")
    jd.add_argument("--tuning", action="store_true", help="describe a tuning job")
    add_backend_args(jd)
    jd.set_defaults(func=_jobs_describe)
    jg = jsub.add_parser("logs", help="a job's log", **example("smkit jobs logs N --follow"))
    jg.add_argument("name")
    jg.add_argument("--follow", action="store_true", help="stream until the job ends")
    add_backend_args(jg)
    jg.set_defaults(func=_jobs_logs)
    js = jsub.add_parser("stop", help="stop a running job", **example("smkit jobs stop N"))
    js.add_argument("name")
    js.add_argument("--tuning", action="store_true", help="stop a tuning job")
    add_backend_args(js)
    js.set_defaults(func=_jobs_stop)


def _train(args: argparse.Namespace) -> int:
    session = session_from_args(args)
    job = session.backend.train(_spec(args), name=args.name)
    if args.no_wait or session.plan_mode:
        if session.plan_mode:
            print_json([r.to_dict() for r in session.plan()])
        else:
            print(job.name)
        return 0
    failed = None
    try:
        job.wait(logs=not args.quiet)
    except Exception as exc:
        from smkit.errors import ResourceFailedError

        if not isinstance(exc, ResourceFailedError):
            raise
        failed = exc
    record = job.describe()
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        from smkit.report import redact, to_jsonable

        (out / "job.json").write_text(json.dumps(redact(to_jsonable(record)), indent=2))
        uri = record.get("ModelArtifacts", {}).get("S3ModelArtifacts")
        if uri and session.supports(Capability.LOCAL_FILES):
            shutil.copyfile(session.store.path_for(uri), out / "model.tar.gz")
        elif uri:
            session.store.get_file(uri, out / "model.tar.gz")
    status = record["TrainingJobStatus"]
    metrics = ", ".join(
        f"{m['MetricName']}={m['Value']:g}" for m in record.get("FinalMetricDataList", [])
    )
    print(f"{job.name}: {status}" + (f" ({metrics})" if metrics else ""), file=sys.stderr)
    if failed is not None:
        raise failed
    return 0 if status == "Completed" else 1


def _range(text: str) -> Any:
    from smkit.training import CategoricalParameter, ContinuousParameter, IntegerParameter

    kind, _, rest = text.partition(":")
    parts = rest.split(":")
    try:
        if kind == "continuous":
            return ContinuousParameter(float(parts[0]), float(parts[1]), *parts[2:3])
        if kind == "integer":
            return IntegerParameter(int(parts[0]), int(parts[1]), *parts[2:3])
        if kind == "categorical":
            return CategoricalParameter([_value(v) for v in rest.split(",")])
    except (IndexError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"--range {text!r}: {exc}") from exc
    raise ConfigError(
        f"--range {text!r}: use continuous:MIN:MAX[:SCALING], integer:MIN:MAX or categorical:A,B"
    )


def _tune(args: argparse.Namespace) -> int:
    from smkit.training import TuningSpec

    session = session_from_args(args)
    spec = TuningSpec(
        training=_spec(args),
        ranges={k: _range(v) for k, v in parse_pairs(args.range, "--range").items()},
        objective_metric=args.objective,
        objective_type=args.objective_type,
        objective_regex=args.objective_regex,
        strategy=args.strategy,
        max_jobs=args.max_jobs,
        max_parallel_jobs=args.max_parallel,
        early_stopping=args.early_stopping,
        seed=args.seed,
    )
    tuning = session.backend.tune(spec, name=args.name)
    if session.plan_mode:
        print_json([r.to_dict() for r in session.plan()])
        return 0
    print(f"tuning job {tuning.name} started", file=sys.stderr)
    tuning.wait()
    if args.json:
        print_json(tuning.describe())
    else:
        for row in tuning.table():
            print("  ".join(f"{k}={v}" for k, v in row.items()))
        print(f"best: {tuning.best_job.name} objective={tuning.best_objective}")
    if args.plot:
        tuning.plot(args.plot)
    return 0


def _jobs_list(args: argparse.Namespace) -> int:
    backend = session_from_args(args).backend
    if args.tuning:
        rows = backend.list_tuning_jobs(status=args.status)
        if args.json:
            print_json(rows)
            return 0
        if not rows:
            print("no tuning jobs")
            return 0
        print(f"{'NAME':<34} {'STATUS':<11} BEST OBJECTIVE")
        for r in rows:
            best = (r.get("BestTrainingJob") or {}).get(
                "FinalHyperParameterTuningJobObjectiveMetric"
            ) or {}
            print(
                f"{r['HyperParameterTuningJobName']:<34} {r['HyperParameterTuningJobStatus']:<11}"
                f" best={best.get('Value')}"
            )
        return 0
    rows = backend.list_training_jobs(status=args.status)
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no training jobs")
        return 0
    print(f"{'NAME':<48} {'STATUS':<11} {'SECONDARY':<18} CREATED")
    for r in rows:
        print(
            f"{r['TrainingJobName']:<48} {r['TrainingJobStatus']:<11} "
            f"{r.get('SecondaryStatus', '')!s:<18} {str(r.get('CreationTime', ''))[:19]}"
        )
    return 0


def _jobs_describe(args: argparse.Namespace) -> int:
    backend = session_from_args(args).backend
    if args.tuning:
        print_json(backend.describe_tuning_job(args.name))
    else:
        from smkit.report import redact

        print_json(redact(backend.describe_training_job(args.name)))
    return 0


def _jobs_logs(args: argparse.Namespace) -> int:
    backend = session_from_args(args).backend
    if args.follow:
        from smkit.training.job import TrainingJob

        try:
            TrainingJob(backend, args.name).wait(logs=True)
        except Exception as exc:
            from smkit.errors import ResourceFailedError

            if not isinstance(exc, ResourceFailedError):
                raise
        return 0
    text = backend.training_job_logs(args.name)
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    return 0


def _jobs_stop(args: argparse.Namespace) -> int:
    backend = session_from_args(args).backend
    if args.tuning:
        backend.stop_tuning_job(args.name)
    else:
        backend.stop_training_job(args.name)
    print(f"stopping {args.name}", file=sys.stderr)
    return 0
