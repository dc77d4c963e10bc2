"""Watching one Kubernetes object until a condition holds, as client-go's reflector
does: from a known resourceVersion (a PATCH answer, or a list's), the events after it;
when the stream ends — the server's own timeout, or a connection cut mid-way (a load
balancer's idle reset: ProtocolError, a read timeout) — watch again from the last
version seen; only when that history has expired (410 Gone, sent as an ERROR event)
list again. A cut is never an "unreachable cluster": only a failing list is."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kasboot.cluster_transport import CONNECT_TIMEOUT, request_timeout
from kasboot.kube_http import watch_events

WATCH_SECONDS = 60  # one watch request at most; then it is watched again


def _resource_version(obj: dict[str, Any] | None) -> str | None:
    version = ((obj or {}).get("metadata") or {}).get("resourceVersion")
    return str(version) if version else None


def watch_until(
    seam: Any,
    collection: str,
    name: str,
    done: Callable[[dict[str, Any] | None], bool],
    timeout: float,
    since: dict[str, Any] | None = None,
    initial: bool = False,
) -> dict[str, Any] | None:
    """Watch ``name`` in the ``collection`` path until ``done(obj)`` or ``timeout``
    seconds; the last state seen (None: absent). ``seam`` is the Cluster (its ``_call``,
    ``_api`` and ``deadline``). ``initial`` (no ``since``): no list first — a watch with
    no resourceVersion, whose first events are the object as it is now ("Get State and
    Start at Most Recent": one request, where a list and a watch take two); an absent
    object then says nothing until it is created."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    deadline = time.monotonic() + timeout
    selector = ("fieldSelector", f"metadata.name={name}")
    last = since
    version = _resource_version(since)
    if since is not None and done(since):
        return since
    cuts = 0
    while True:
        if version is None and not initial:  # nothing to start from: list (says "absent")
            listing = seam._call("GET", collection, query=[selector])
            items = listing.get("items", [])
            last = dict(items[0]) if items else None
            if done(last):
                return last
            version = str(listing["metadata"]["resourceVersion"])
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return last
        server_timeout = max(1, min(int(remaining), WATCH_SECONDS))
        # the read timeout outlasts the server's own end of the watch
        _, read = request_timeout(seam.deadline, read=server_timeout + 10.0)
        query = [selector]
        if version is not None:
            query.append(("resourceVersion", version))
        query += [("allowWatchBookmarks", "true"), ("timeoutSeconds", str(server_timeout))]
        try:
            for event in watch_events(seam._api, collection, query, (CONNECT_TIMEOUT, read)):
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:  # history expired: list again
                        version = None
                        break
                    raise ApiException(status=obj.get("code"), reason=obj.get("message"))
                version = _resource_version(obj) or version
                if kind == "BOOKMARK":
                    continue
                last = None if kind == "DELETED" else dict(obj)
                if done(last) or time.monotonic() >= deadline:
                    return last
        except ApiException as error:
            if error.status != 410:
                raise
            version = None
        except (ProtocolError, ReadTimeoutError):
            cuts += 1  # the stream was cut: watch again from the last version, after a pause
            time.sleep(min(0.1 * 2 ** min(cuts, 5), 2.0, max(0.0, remaining)))
        if time.monotonic() >= deadline:
            return last
