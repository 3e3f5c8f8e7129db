"""The SageMaker training-container contract, as data.

SageMaker starts a training container with ``/opt/ml`` laid out like this:

    /opt/ml/input/config/hyperparameters.json   {"max_depth": "5", "optimizer": "\\"adam\\""}
    /opt/ml/input/config/resourceconfig.json    {"current_host": "algo-1", "hosts": ["algo-1"], ...}
    /opt/ml/input/config/inputdataconfig.json   {"train": {"ContentType": "text/csv", ...}}
    /opt/ml/input/data/<channel>/               the channel's objects
    /opt/ml/code/                               the source directory (script mode)
    /opt/ml/model/                              packed into model.tar.gz when the job ends
    /opt/ml/output/data/                        packed into output.tar.gz
    /opt/ml/output/failure                      first 1024 characters become FailureReason

and the SageMaker training toolkit exports ``SM_*`` variables and runs the entry point with
the hyperparameters as ``--key value`` arguments sorted by key. This module computes those
files, variables and arguments for any root directory (the local backend uses
``<root>/jobs/<job>/``), so an unmodified SageMaker script runs without Docker.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_HOST",
    "JobPaths",
    "cmd_args",
    "decode_hyperparameters",
    "encode_hyperparameters",
    "env_value",
    "training_env",
]

DEFAULT_HOST = "algo-1"


def encode_hyperparameters(values: dict[str, Any], *, script_mode: bool) -> dict[str, str]:
    """Hyperparameters as ``hyperparameters.json`` holds them (string -> string).

    Script mode JSON-encodes each value as the SageMaker SDK does (``5`` -> ``"5"``,
    ``"abc"`` -> ``"\\"abc\\""``); built-in algorithms get the plain text (``str(value)``,
    booleans lower-cased).
    """
    out: dict[str, str] = {}
    for key, value in values.items():
        if script_mode:
            out[key] = json.dumps(value)
        elif isinstance(value, bool):
            out[key] = str(value).lower()
        else:
            out[key] = str(value)
    return out


def decode_hyperparameters(values: dict[str, str]) -> dict[str, Any]:
    """The toolkit's reading of ``hyperparameters.json``: ``json.loads``, raw string fallback."""
    out: dict[str, Any] = {}
    for key, text in values.items():
        try:
            out[key] = json.loads(text)
        except (TypeError, ValueError, RecursionError):
            out[key] = text
    return out


#: Hyperparameters the training toolkit keeps for itself (besides the ``sagemaker_`` ones).
TOOLKIT_HYPERPARAMETERS = (
    "sagemaker_program",
    "sagemaker_submit_directory",
    "sagemaker_enable_cloudwatch_metrics",
    "sagemaker_region",
    "sagemaker_container_log_level",
    "sagemaker_job_name",
    "default_user_module_name",
    "_tuning_objective_metric",
    "sagemaker_s3_output",
)
_DISTRIBUTION_FLAGS = (
    "sagemaker_mpi_enabled",
    "sagemaker_parameter_server_enabled",
    "sagemaker_distributed_dataparallel_enabled",
    "sagemaker_pytorch_ddp_enabled",
    "sagemaker_pytorch_xla_multi_worker_enabled",
    "sagemaker_multi_worker_mirrored_strategy_enabled",
    "sagemaker_torch_distributed_enabled",
)


def detect_num_gpus() -> int:
    """GPUs on this machine, as the training toolkit counts them (``nvidia-smi --list-gpus``).

    ``SMKIT_NUM_GPUS`` overrides the count (tests, or to hide GPUs from a job).
    """
    forced = os.environ.get("SMKIT_NUM_GPUS")
    if forced is not None and forced.strip().isdigit():
        return int(forced)
    import shutil
    import subprocess

    exe = shutil.which("nvidia-smi")
    if exe is None:
        return 0
    try:
        out = subprocess.run(
            [exe, "--list-gpus"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def env_value(value: Any) -> str:
    """An ``SM_*`` variable's text as the toolkit writes it: strings raw, ``None`` empty,
    anything else compact sorted JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def cmd_args(hyperparameters: dict[str, Any]) -> list[str]:
    """``--key value`` pairs sorted by key, as the training toolkit builds them.

    One-letter keys become ``-k``; dict values become ``k1=v1,k2=v2``; everything else
    ``str(value)``.
    """
    args: list[str] = []
    for key in sorted(hyperparameters):
        value = hyperparameters[key]
        args.append(f"--{key}" if len(key) > 1 else f"-{key}")
        if isinstance(value, dict):
            args.append(",".join(f"{k}={v}" for k, v in sorted(value.items())))
        elif value is None:
            args.append("")
        else:
            args.append(str(value))
    return args


class JobPaths:
    """The ``/opt/ml``-shaped directories of one job below ``base``."""

    def __init__(self, base: str | Path) -> None:
        self.base = Path(base)
        self.input = self.base / "input"
        self.config = self.input / "config"
        self.data = self.input / "data"
        self.code = self.base / "code"
        self.model = self.base / "model"
        self.output = self.base / "output"
        self.output_data = self.output / "data"
        self.intermediate = self.output / "intermediate"
        self.tensors = self.output / "tensors"
        self.failure = self.output / "failure"
        self.checkpoints = self.base / "checkpoints"
        self.profiler = self.base / "profiler"
        self.log = self.base / "logs.txt"
        self.metrics = self.base / "metrics.jsonl"

    def create(self) -> JobPaths:
        """Create every directory."""
        for path in (
            self.config,
            self.data,
            self.code,
            self.model,
            self.output_data,
            self.intermediate,
            self.tensors,
            self.checkpoints,
            self.profiler,
        ):
            path.mkdir(parents=True, exist_ok=True)
        return self

    def channel(self, name: str) -> Path:
        """``input/data/<name>``."""
        return self.data / name


def training_env(
    paths: JobPaths,
    *,
    job_name: str,
    job_arn: str,
    hyperparameters: dict[str, str],
    input_data_config: dict[str, Any],
    resource_config: dict[str, Any],
    entry_point: str,
    module_dir: str | None = None,
    num_cpus: int | None = None,
    num_gpus: int | None = None,
    framework_params: dict[str, Any] | None = None,
    log_level: int = 20,
) -> tuple[dict[str, str], list[str]]:
    """The environment variables and arguments the training toolkit gives the entry point.

    Args:
        paths: The job's directories.
        job_name: ``TRAINING_JOB_NAME``.
        job_arn: ``TRAINING_JOB_ARN``.
        hyperparameters: ``hyperparameters.json`` content (encoded strings).
        input_data_config: ``inputdataconfig.json`` content.
        resource_config: ``resourceconfig.json`` content.
        entry_point: The script's file name (``SM_USER_ENTRY_POINT``).
        module_dir: ``SM_MODULE_DIR`` (default: as the toolkit, the
            ``sagemaker_submit_directory`` hyperparameter, else the job's ``code`` dir).
        num_cpus: CPUs (default: ``os.cpu_count()``).
        num_gpus: GPUs visible to the job (default: `detect_num_gpus`).
        framework_params: ``SM_FRAMEWORK_PARAMS``.
        log_level: ``SM_LOG_LEVEL``.

    Returns:
        ``(env, argv)``: the variables to add and the script's arguments.
    """
    decoded = decode_hyperparameters(hyperparameters)
    reserved = {
        k: v
        for k, v in decoded.items()
        if k in TOOLKIT_HYPERPARAMETERS or k.startswith("sagemaker_")
    }
    user_hps = {k: v for k, v in decoded.items() if k not in reserved}
    if framework_params is None:
        framework_params = {k: v for k, v in reserved.items() if k not in TOOLKIT_HYPERPARAMETERS}
    if "sagemaker_submit_directory" in reserved:
        module_dir = str(reserved["sagemaker_submit_directory"])
    elif module_dir is None:
        module_dir = str(paths.code)
    if "sagemaker_container_log_level" in reserved:
        log_level = reserved["sagemaker_container_log_level"]
    if num_gpus is None:
        num_gpus = detect_num_gpus()
    argv = cmd_args(user_hps)
    channels = sorted(input_data_config)
    channel_dirs = {c: str(paths.channel(c)) for c in channels}
    host = resource_config.get("current_host", DEFAULT_HOST)
    hosts = resource_config.get("hosts", [host])
    module_name = entry_point.rsplit("/", 1)[-1]
    if module_name.endswith(".py"):
        module_name = module_name[:-3]
    group = resource_config.get("current_group_name", "homogeneousCluster")
    groups_config = resource_config.get("instance_groups", [])
    group_hosts = next((g["hosts"] for g in groups_config if g["instance_group_name"] == group), [])
    dist_groups = framework_params.get("sagemaker_distribution_instance_groups")
    if dist_groups is None:
        dist_groups = [group] if any(framework_params.get(f) for f in _DISTRIBUTION_FLAGS) else []
    if groups_config:
        dist_hosts = [
            h for g in groups_config if g["instance_group_name"] in dist_groups for h in g["hosts"]
        ]
    else:
        dist_hosts = list(hosts)
    master = dist_hosts[0] if dist_hosts else hosts[0]
    env_dict: dict[str, Any] = {
        "additional_framework_parameters": framework_params or {},
        "channel_input_dirs": channel_dirs,
        "current_host": host,
        "current_instance_group": group,
        "current_instance_group_hosts": group_hosts,
        "current_instance_type": resource_config.get("current_instance_type", "local"),
        "distribution_hosts": dist_hosts,
        "distribution_instance_groups": dist_groups,
        "framework_module": None,
        "hosts": hosts,
        "hyperparameters": user_hps,
        "input_config_dir": str(paths.config),
        "input_data_config": input_data_config,
        "input_dir": str(paths.input),
        "instance_groups": [g["instance_group_name"] for g in groups_config],
        "instance_groups_dict": {g["instance_group_name"]: g for g in groups_config},
        "is_hetero": len(groups_config) > 1,
        "is_master": host == master,
        "is_modelparallel_enabled": None,
        "is_smddpmprun_installed": False,
        "is_smddprun_installed": False,
        "job_name": job_name,
        "log_level": log_level,
        "master_hostname": master,
        "model_dir": str(paths.model),
        "module_dir": module_dir,
        "module_name": module_name,
        "network_interface_name": resource_config.get("network_interface_name", "eth0"),
        "num_cpus": num_cpus or os.cpu_count() or 1,
        "num_gpus": num_gpus,
        "num_neurons": 0,
        "output_data_dir": str(paths.output_data),
        "output_dir": str(paths.output),
        "output_intermediate_dir": str(paths.intermediate),
        "resource_config": resource_config,
        "topology": resource_config.get("topology", []),
        "user_entry_point": entry_point,
    }
    env: dict[str, str] = {
        "SM_MODEL_DIR": str(paths.model),
        "SM_CHANNELS": env_value(channels),
        "SM_HPS": env_value(user_hps),
        "SM_OUTPUT_DATA_DIR": str(paths.output_data),
        "SM_OUTPUT_DIR": str(paths.output),
        "SM_OUTPUT_INTERMEDIATE_DIR": str(paths.intermediate),
        "SM_INPUT_DIR": str(paths.input),
        "SM_INPUT_CONFIG_DIR": str(paths.config),
        "SAGEMAKER_BASE_DIR": str(paths.base),  # sagemaker_training.environment reads it
        "SM_NUM_GPUS": str(num_gpus),
        "SM_NUM_NEURONS": "0",
        "SM_NUM_CPUS": str(env_dict["num_cpus"]),
        "SM_HOSTS": env_value(hosts),
        "SM_CURRENT_HOST": host,
        "SM_CURRENT_INSTANCE_TYPE": env_dict["current_instance_type"],
        "SM_CURRENT_INSTANCE_GROUP": group,
        "SM_CURRENT_INSTANCE_GROUP_HOSTS": env_value(group_hosts),
        "SM_INSTANCE_GROUPS": env_value(env_dict["instance_groups"]),
        "SM_INSTANCE_GROUPS_DICT": env_value(env_dict["instance_groups_dict"]),
        "SM_DISTRIBUTION_INSTANCE_GROUPS": env_value(dist_groups),
        "SM_IS_HETERO": env_value(env_dict["is_hetero"]),
        "SM_NETWORK_INTERFACE_NAME": env_dict["network_interface_name"],
        "SM_RESOURCE_CONFIG": env_value(resource_config),
        "SM_INPUT_DATA_CONFIG": env_value(input_data_config),
        "SM_FRAMEWORK_PARAMS": env_value(framework_params or {}),
        "SM_FRAMEWORK_MODULE": "",
        "SM_USER_ENTRY_POINT": entry_point,
        "SM_MODULE_DIR": module_dir,
        "SM_MODULE_NAME": module_name,
        "SM_LOG_LEVEL": env_value(log_level),
        "SM_IS_MASTER": env_value(env_dict["is_master"]),
        "SM_MASTER_HOSTNAME": master,
        "SM_TRAINING_ENV": env_value(env_dict),
        "SM_USER_ARGS": env_value(argv),
        "TRAINING_JOB_NAME": job_name,
        "TRAINING_JOB_ARN": job_arn,
    }
    for channel in channels:
        env[f"SM_CHANNEL_{channel.upper()}"] = channel_dirs[channel]
    for key, value in user_hps.items():
        env[f"SM_HP_{key.upper()}"] = env_value(value)
    return env, argv
