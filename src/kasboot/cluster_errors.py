"""The cluster seam's failures in words: every request error becomes a ClusterError
(exit 5) naming what kasboot was doing, the API server's message or the transport
failure, and how to fix it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kasboot.cluster_transport import DeadlinePassed, GaveUp, transport_failure
from kasboot.errors import ClusterError


@contextmanager
def translated(doing: str, server: str, timeout: float | None) -> Iterator[None]:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        yield
    except ApiException as error:
        if not error.status and error.reason:  # raised by the client, not an answer
            raise ClusterError(
                f"cannot reach the cluster at {server} while {doing}: {error.reason}",
                hint="check KUBECONFIG / --context and that the API server is up",
            ) from error
        gave_up = getattr(error, "gave_up", "")
        raise ClusterError(
            f"the cluster said {error.status} while {doing}: {status_message(error)}"
            + (f" ({gave_up})" if gave_up else ""),
            status=error.status,
        ) from error
    except GaveUp as error:
        raise ClusterError(
            f"the cluster kept failing while {doing}: {error}",
            hint="check that the API server and the network to it are healthy, then run "
            "the same command again (it finishes the job)",
        ) from error
    except DeadlinePassed as error:
        raise ClusterError(
            f"the cluster did not finish within --timeout ({timeout or 0:g}s) while {doing}",
            hint="check that the API server answers (kubectl get --raw /version), "
            "or raise --timeout",
        ) from error
    except (HTTPError, OSError) as error:
        raise ClusterError(
            f"cannot reach the cluster at {server} while {doing}: {transport_failure(error)}",
            hint="check KUBECONFIG / --context and that the API server is up",
        ) from error


def status_message(error: Any) -> str:
    """The message of the API server's Status body, else the HTTP reason."""
    try:
        body = error.body.decode() if isinstance(error.body, bytes) else error.body
        return str(json.loads(body).get("message") or error.reason)
    except (TypeError, ValueError, AttributeError):
        return str(error.reason)
