"""Moved: the model-quality engine is `smkit.monitoring.engines.model_quality`.

This module re-exports it so that imports of the old path keep working.
"""

from smkit.monitoring.engines.model_quality import *  # noqa: F403
from smkit.monitoring.engines.model_quality import __all__ as __all__
