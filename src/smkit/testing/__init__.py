"""Reusable test helpers: a moto server, backends on it, and backend contract suites.

In your own tests:

    pytest_plugins = ["smkit.testing.fixtures"]

    def test_my_pipeline(aws_session):      # an aws Session talking to a moto server
        ...
"""

from smkit.testing.moto import MotoServer, moto_server

__all__ = ["MotoServer", "moto_server"]
