"""Moved: the Clarify explainability engine is `smkit.monitoring.engines.clarify`.

This module re-exports it so that imports of the old path keep working.
"""

from smkit.monitoring.engines.clarify import *  # noqa: F403
from smkit.monitoring.engines.clarify import __all__ as __all__
