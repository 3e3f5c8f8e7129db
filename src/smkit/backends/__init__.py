"""Backends and the capability interfaces they implement.

``smkit.backends`` exposes the interfaces (cheap to import); the backends themselves load
through the registry when a [Session][smkit.Session] asks for one by name.
"""

from smkit.backends._protocol import (
    Backend,
    Capability,
    Catalog,
    MonitoringBackend,
    ObjectInfo,
    ObjectStore,
    Resource,
    ServingBackend,
    TrainingBackend,
    Transition,
    WorkflowBackend,
    require,
)
from smkit.backends._resources import ResourceKind, Verb

__all__ = [
    "Backend",
    "Capability",
    "Catalog",
    "MonitoringBackend",
    "ObjectInfo",
    "ObjectStore",
    "Resource",
    "ResourceKind",
    "ServingBackend",
    "TrainingBackend",
    "Transition",
    "Verb",
    "WorkflowBackend",
    "require",
]
