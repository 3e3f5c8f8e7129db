"""Names shared by the modules of :mod:`smkit.backends.local.jobs`: the catalog kind, the
active statuses, the local account / region and the stop grace period."""

from __future__ import annotations

import os

from smkit.ids import LOCAL_ACCOUNT, LOCAL_REGION, sagemaker_arn, unique_name

__all__ = ["ACCOUNT", "ACTIVE", "KIND", "REGION", "STOP_GRACE_SECONDS", "arn", "job_name"]

KIND = "training_job"
ACTIVE = ("InProgress", "Stopping")
ACCOUNT = LOCAL_ACCOUNT
REGION = LOCAL_REGION
#: Seconds between SIGTERM and SIGKILL when a job is stopped (SageMaker waits 120 s).
STOP_GRACE_SECONDS = float(os.environ.get("SMKIT_STOP_GRACE_SECONDS", "5"))


job_name = unique_name
arn = sagemaker_arn
