"""coordination.k8s.io/v1 Lease: what clients use as a lock (leader election, and
kasboot's token lease). The API server gives it no behaviour of its own beyond any
object's: create answers 409 AlreadyExists for a taken name, and an update carrying a
stale resourceVersion answers 409 Conflict — which is exactly what makes it a lock."""

from __future__ import annotations

from kasboot.sandbox.kube.registry import ResourceType

LEASE = ResourceType(
    group="coordination.k8s.io",
    versions=("v1",),
    plural="leases",
    singular="lease",
    kind="Lease",
    namespaced=True,
)
COORDINATION_TYPES: tuple[ResourceType, ...] = (LEASE,)
