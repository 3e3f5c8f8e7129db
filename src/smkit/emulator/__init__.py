"""An offline AWS emulator: boto3 and the SageMaker SDK, unchanged, against the local engines.

``smkit emulator start`` runs one HTTP server on 127.0.0.1 that speaks the AWS wire protocols.
SageMaker's control plane and runtime are run for real by smkit's local engines
(`smkit.emulator.sagemaker`); S3, IAM, STS, CloudWatch Logs and everything else are
answered by moto inside the emulator. Point code at it with ``AWS_ENDPOINT_URL`` or
``endpoint_url=``.

Modules: `smkit.emulator.server` (the app and routing), `smkit.emulator.daemon`
(start / stop / status), `smkit.emulator.operations` (the table of supported
operations), `smkit.emulator.protocol` (wire formats).
"""

from __future__ import annotations

__all__ = ["DEFAULT_PORT"]

#: The port ``smkit emulator start`` binds when none is given.
DEFAULT_PORT = 4599
