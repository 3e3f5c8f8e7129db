"""Custom training images: a Dockerfile that extends a prebuilt SageMaker framework image.

`dockerfile` writes the text; `write_build_context` lays out a build directory
(``Dockerfile`` + ``code/``); `check` runs the same code through the local training
contract first, so a broken entry point shows up before an image is built and pushed:

    FROM 763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1-cpu-py310
    COPY code/ /opt/ml/code/
    RUN pip install --no-cache-dir -r /opt/ml/code/requirements.txt   # when present
    ENV SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/code
    ENV SAGEMAKER_PROGRAM=train.py

The framework images start the training toolkit, which runs ``$SAGEMAKER_PROGRAM`` from
``/opt/ml/code`` with the job's hyperparameters. No Docker is needed to generate or check.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smkit.errors import ConfigError, SourceNotFoundError

if TYPE_CHECKING:
    from smkit.training.spec import TrainingSpec

__all__ = [
    "base_image",
    "check",
    "dockerfile",
    "framework_of_image",
    "image_uri_for",
    "write_build_context",
]

_PY_VERSIONS = {"pytorch": "py310", "autogluon": "py311", "sklearn": "py3"}


def base_image(framework: str, version: str, *, region: str = "us-east-1", **kwargs: Any) -> str:
    """The prebuilt SageMaker training image URI (``sagemaker.core.image_uris``).

    Args:
        framework: ``pytorch``, ``sklearn``, ``xgboost``, ``autogluon``...
        version: Framework version, e.g. ``"2.1"``.
        region: AWS region of the registry.
        **kwargs: Passed to ``image_uris.retrieve`` (``py_version``, ``instance_type``).
    """
    from smkit.training.spec import TrainingSpec

    spec = TrainingSpec(
        entry_point="train.py",
        framework=framework,
        framework_version=version,
        py_version=kwargs.get("py_version"),
        instance_type=kwargs.get("instance_type", "ml.m5.xlarge"),
    )
    return image_uri_for(spec, region)


#: Repository names of SageMaker's prebuilt images -> smkit's framework name.
IMAGE_REPOSITORIES = {
    "sagemaker-scikit-learn": "sklearn",
    "pytorch-training": "pytorch",
    "pytorch-inference": "pytorch",
    "sagemaker-xgboost": "xgboost",
    "xgboost": "xgboost",
    "autogluon-training": "autogluon",
    "autogluon-inference": "autogluon",
}


def framework_of_image(image_uri: str) -> tuple[str, str | None]:
    """``(framework, version)`` of a SageMaker prebuilt image URI; ``("custom", None)`` else.

    The version is the tag up to its first ``-cpu`` / ``-gpu`` / ``-py`` part.

    Examples:
        >>> framework_of_image(
        ...     "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
        ... )
        ('sklearn', '1.2-1')
        >>> framework_of_image("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1")
        ('pytorch', '2.1')
        >>> framework_of_image("my/own:latest")
        ('custom', None)
    """
    import re

    path, _, tag = image_uri.rsplit("/", 1)[-1].partition(":")
    framework = IMAGE_REPOSITORIES.get(path.split("@", 1)[0])
    if framework is None:
        return "custom", None
    version = re.split(r"-(?:cpu|gpu|py\d)", tag, maxsplit=1)[0] if tag else None
    return framework, version or None


def image_uri_for(spec: TrainingSpec, region: str) -> str:
    """The training image of a spec: ``image_uri`` or SageMaker's prebuilt framework image.

    Raises:
        ConfigError: a ``custom`` framework without ``image_uri``, or an unknown version.
    """
    if spec.image_uri:
        return spec.image_uri
    framework = spec.effective_framework
    if framework == "custom":
        raise ConfigError(
            "a custom-framework job needs image_uri on AWS",
            hint="set framework= (sklearn, pytorch, xgboost, autogluon) or image_uri=",
        )
    from smkit._compat import require

    image_uris = require("sagemaker.core.image_uris", "aws", feature="image URIs")
    version = spec.effective_version
    try:
        return str(
            image_uris.retrieve(
                framework,
                region=region,
                version=version,
                py_version=spec.py_version or _PY_VERSIONS.get(framework),
                instance_type=spec.instance_type,
                image_scope="training",
            )
        )
    except Exception as exc:
        raise ConfigError(
            f"no SageMaker {framework} training image for version {version!r} in {region}: {exc}",
            hint="pick a supported framework_version / py_version, or pass image_uri",
        ) from exc


def dockerfile(
    base: str,
    entry_point: str,
    *,
    requirements: bool = False,
    env: dict[str, str] | None = None,
) -> str:
    """Dockerfile text extending ``base`` with the code in ``code/``.

    Args:
        base: Base image URI (see `base_image`).
        entry_point: Script file name inside the code directory.
        requirements: Add a ``pip install -r requirements.txt`` layer.
        env: Extra ``ENV`` lines.
    """
    if not base or any(c.isspace() for c in base):
        raise ConfigError(f"base image {base!r} is not an image URI")
    if not entry_point.endswith(".py") or "/" in entry_point.strip("./"):
        raise ConfigError(
            f"entry_point {entry_point!r} must be a .py file at the top of the code directory"
        )
    lines = [
        "# generated by smkit.training.images",
        f"FROM {base}",
        "COPY code/ /opt/ml/code/",
    ]
    if requirements:
        lines.append("RUN pip install --no-cache-dir -r /opt/ml/code/requirements.txt")
    lines += [
        "ENV SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/code",
        f"ENV SAGEMAKER_PROGRAM={entry_point}",
    ]
    for key, value in sorted((env or {}).items()):
        lines.append(f"ENV {key}={value}")
    return "\n".join(lines) + "\n"


def write_build_context(
    directory: str | Path,
    *,
    source_dir: str | Path,
    entry_point: str,
    base: str,
    env: dict[str, str] | None = None,
) -> Path:
    """Create ``directory`` with ``Dockerfile`` and ``code/`` (a copy of ``source_dir``).

    Returns:
        The Dockerfile's path. Build it with ``docker build -t NAME directory``.
    """
    src = Path(source_dir)
    if not (src / entry_point).is_file():
        raise SourceNotFoundError(
            f"entry point {entry_point!r} not found in {str(src)!r}", path=str(src / entry_point)
        )
    out = Path(directory)
    code = out / "code"
    if code.exists():
        shutil.rmtree(code)
    shutil.copytree(src, code, ignore=shutil.ignore_patterns("__pycache__", ".git"))
    path = out / "Dockerfile"
    path.write_text(
        dockerfile(base, entry_point, requirements=(src / "requirements.txt").is_file(), env=env)
    )
    return path


def check(
    session: Any,
    *,
    source_dir: str | Path,
    entry_point: str,
    hyperparameters: dict[str, Any] | None = None,
    inputs: dict[str, Any] | None = None,
    timeout: float = 300,
    max_runtime: int = 600,
) -> Any:
    """Run the image's code through the local training contract and wait for it.

    Args:
        session: A local `smkit.Session`.
        source_dir: The code directory the image will copy.
        entry_point: ``SAGEMAKER_PROGRAM``.
        hyperparameters: Hyperparameters of a short trial run.
        inputs: Channels of the trial run.
        timeout: Seconds to wait.
        max_runtime: The trial job's ``max_runtime``.

    Returns:
        The completed `TrainingJob`.

    Raises:
        SourceNotFoundError: the entry point is missing.
        ResourceFailedError: the script failed (the reason says why), so fix it before
            building the image.
    """
    from smkit.training.spec import TrainingSpec

    spec = TrainingSpec(
        entry_point=entry_point,
        source_dir=str(source_dir),
        framework="custom",
        hyperparameters=dict(hyperparameters or {}),
        inputs=dict(inputs or {}),
        max_runtime=max_runtime,
        base_job_name="image-check",
        profiler=None,
    )
    return session.train(spec).wait(timeout=timeout)
