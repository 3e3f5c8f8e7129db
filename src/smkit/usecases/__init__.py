"""Use-case plugins: each composes the builders end to end and returns a report.

Plugins register through the entry-point group ``smkit.usecases``; see
`smkit.usecases._base` for the interface.
"""

from smkit.usecases._base import (
    ENTRY_POINT_GROUP,
    UseCase,
    UseCaseConfig,
    available_usecases,
    build_config,
    load_usecase,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "UseCase",
    "UseCaseConfig",
    "available_usecases",
    "build_config",
    "load_usecase",
]
