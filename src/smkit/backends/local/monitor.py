"""Moved: the data-quality analyzer is `smkit.monitoring.engines.data_quality`.

This module re-exports it so that imports of the old path keep working.
"""

from smkit.monitoring.engines.data_quality import *  # noqa: F403
from smkit.monitoring.engines.data_quality import __all__ as __all__
