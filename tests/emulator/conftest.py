"""The emulator fixtures of :mod:`smkit.testing.emulator` (one daemon for the session)."""

from smkit.testing.emulator import emulator, emulator_env  # noqa: F401
