"""Watching one Kubernetes object until a condition holds, through the kubernetes
client: list, then watch from the list's resourceVersion; when the stream ends — the
server's own timeout, 410 Gone, or a connection cut mid-way (a load balancer's idle
reset: ProtocolError, a read timeout) — list again and watch from there. A cut is
never an "unreachable cluster": only a failing list is."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

WATCH_SECONDS = 60  # one watch request at most; then it is listed and watched again


def watch_until(
    custom: Any,
    resource: tuple[str, str, str],
    namespace: str,
    name: str,
    done: Callable[[dict[str, Any] | None], bool],
    timeout: float,
) -> dict[str, Any] | None:
    """Watch ``name`` (``resource`` = group, version, plural) until ``done(obj)`` or
    ``timeout`` seconds; the last state seen (None: absent)."""
    from kubernetes import watch
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    group, version, plural = resource
    deadline = time.monotonic() + timeout
    selector = f"metadata.name={name}"
    last: dict[str, Any] | None = None
    cuts = 0
    while True:
        listing = custom.list_namespaced_custom_object(
            group, version, namespace, plural, field_selector=selector
        )
        items = listing.get("items", [])
        last = dict(items[0]) if items else None
        if done(last):
            return last
        resource_version = listing["metadata"]["resourceVersion"]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return last
        server_timeout = max(1, min(int(remaining), WATCH_SECONDS))
        watcher = watch.Watch()
        try:
            for event in watcher.stream(
                custom.list_namespaced_custom_object,
                group,
                version,
                namespace,
                plural,
                field_selector=selector,
                resource_version=resource_version,
                timeout_seconds=server_timeout,
                # the read timeout outlasts the server's own end of the watch
                _request_timeout=(10.0, server_timeout + 10.0),
            ):
                obj = event["object"]
                last = None if event["type"] == "DELETED" else dict(obj)
                if done(last):
                    return last
                if time.monotonic() >= deadline:
                    return last
        except ApiException as error:
            if error.status != 410:  # 410 Gone: history expired, re-list
                raise
        except (ProtocolError, ReadTimeoutError):
            cuts += 1  # the stream was cut: list again, after a short pause
            time.sleep(min(0.1 * 2 ** min(cuts, 5), 2.0, max(0.0, remaining)))
        finally:
            watcher.stop()
        if time.monotonic() >= deadline:
            return last
