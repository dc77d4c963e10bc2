"""Writes of the cluster seam that settle an unclear answer by reading back."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

from kasboot.errors import ClusterError


def _secret_holds(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether the Secret read back holds what a write wanted (its data keys, labels,
    annotations and type; other keys and fields may be there too)."""
    have_meta, want_meta = current.get("metadata") or {}, wanted.get("metadata") or {}
    return (
        all((current.get("data") or {}).get(k) == v for k, v in (wanted.get("data") or {}).items())
        and all(
            (have_meta.get(part) or {}).get(k) == v
            for part in ("labels", "annotations")
            for k, v in (want_meta.get(part) or {}).items()
        )
        and (not wanted.get("type") or current.get("type") == wanted["type"])
    )


def settled_secret_write(write: Callable[..., str]) -> Callable[..., str]:
    """A Secret write answered 409 is re-read and compared: when a retried write met its
    own first attempt (an answer lost on the way: the create then says AlreadyExists,
    the replace Conflict) or a concurrent run wrote the same, the Secret holds what was
    wanted and the write is done; otherwise the 409 stands."""

    @functools.wraps(write)
    def settled(
        self: Any, namespace: str, body: dict[str, Any], resource_version: str | None
    ) -> str:
        wanted = copy.deepcopy(body)
        try:
            return write(self, namespace, body, resource_version)
        except ClusterError as error:
            if error.status != 409:
                raise
            current = self.get_secret(namespace, str(wanted["metadata"]["name"]))
            if current is None or not _secret_holds(current, wanted):
                raise
            return str(current["metadata"]["resourceVersion"])

    return settled
