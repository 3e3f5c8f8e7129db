"""Send botocore clients created with an explicit ``*.amazonaws.com`` endpoint to
``$AWS_ENDPOINT_URL`` (the emulator).

boto3 honours ``AWS_ENDPOINT_URL`` only for clients created without ``endpoint_url``; some
code passes AWS's own URL explicitly (the SageMaker SDK v2 does for STS:
``sts_regional_endpoint(region)``). Put this directory first on ``PYTHONPATH`` of a process
(`smkit.testing.emulator.sdk_environment` does) and such clients reach the emulator
too, with the code left as it is. Nothing happens when ``AWS_ENDPOINT_URL`` is unset.
"""

import os


def _install() -> None:
    url = os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        return
    try:
        import botocore.session
    except ImportError:
        return
    original = botocore.session.Session.create_client

    def create_client(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        endpoint = kwargs.get("endpoint_url")
        if endpoint and ".amazonaws.com" in str(endpoint):
            kwargs["endpoint_url"] = url
        return original(self, *args, **kwargs)

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]


_install()
