"""A Kubernetes API server emulator on loopback: built-in kinds, CRD-defined kinds,
discovery, patches, watches, Tables, persistence. See ``KubeEmulator``."""

from .crds import flux_crds
from .emulator import KubeEmulator

__all__ = ["KubeEmulator", "flux_crds"]
