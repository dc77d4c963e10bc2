"""-v: the cluster's requests beside GitLab's. The cluster seam talks through the
kubernetes client's urllib3 pool, which logs every request it completes (method, path,
status) at DEBUG on `urllib3.connectionpool`; a handler here turns those records into
the same lines as GitLab's, for Kubernetes API paths only (GitLab's own requests are
logged by the GitLab seam, with timings). Query strings are redacted like GitLab URLs;
bodies are never seen."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

# Kubernetes API paths (core, groups, discovery); GitLab's are /api/v4/…
_KUBE_PATH = re.compile(r"^/(api/v1|api$|apis|version|openapi)")
_LOGGER = "urllib3.connectionpool"

ClusterLine = Callable[[str, str, int], None]


class _ClusterRequests(logging.Handler):
    def __init__(self, log: ClusterLine) -> None:
        super().__init__(logging.DEBUG)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if not isinstance(args, tuple) or len(args) < 7:
            return
        method, path, status = str(args[3]), str(args[4]), args[6]
        if not _KUBE_PATH.match(path):
            return
        from kasboot.secret_scan import redact_url

        try:
            self.log(method, redact_url(f"{args[0]}://{args[1]}:{args[2]}{path}"), int(str(status)))
        except Exception:  # a log line must never break the run
            return


def log_cluster_requests(log: ClusterLine) -> None:
    """Send each cluster request to `log` for the rest of the process (a CLI run)."""
    logger = logging.getLogger(_LOGGER)
    if any(isinstance(h, _ClusterRequests) for h in logger.handlers):
        return
    logger.addHandler(_ClusterRequests(log))
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # the lines are ours; nothing else should print them
