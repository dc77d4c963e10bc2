"""The simulated notification-controller Receiver: a GitLab push webhook that asks Flux
to reconcile the GitRepository at once (``kasboot sandbox up --flux-receiver``).

What the real one does (fluxcd/notification-controller ``internal/server``): GitLab
POSTs a ``Push Hook`` event to the Receiver's URL; the controller checks the
``X-Gitlab-Token`` and the event, then merge-patches every resource the Receiver lists
with ``reconcile.fluxcd.io/requestedAt`` = ``metav1.Now().String()`` — ITS OWN value
(Go's time format, with the monotonic clock reading), not a timestamp anyone else
chose. So a push made by kasboot's own commit is followed, shortly after, by a
reconcile request kasboot did not write, and the controllers record THAT value in
``status.lastHandledReconcileAt``.

The sandbox has no webhook delivery: the Receiver watches the branch's ref in the
GitLab emulator's bare repository (API commits and git pushes both move it) and, after
``delay`` seconds (GitLab delivers webhooks from a background queue), annotates."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from pathlib import Path

from kasboot.sandbox.flux.conditions import REQUESTED_AT
from kasboot.sandbox.flux.kubeapi import KubeApi, KubeRequestError

LOG = logging.getLogger("kasboot.sandbox.flux.notification")
NOTIFICATION_CONTROLLER = "notification-controller/v1.9.3"
POLL_SECONDS = 0.1
DEFAULT_DELAY = 1.0


def go_now_string(started: float) -> str:
    """``metav1.Now().String()``: ``2026-12-01 08:57:03.123456789 +0000 UTC m=+12.345678901``
    (the monotonic reading counts from the controller's start)."""
    now = dt.datetime.now(dt.timezone.utc)
    wall = now.strftime("%Y-%m-%d %H:%M:%S.") + f"{now.microsecond * 1000:09d} +0000 UTC"
    return f"{wall} m=+{time.monotonic() - started:.9f}"


def read_ref(bare: Path, branch: str) -> str | None:
    """The sha of ``refs/heads/<branch>`` read from the files (loose ref, else
    packed-refs): no git process per poll."""
    loose = bare / "refs" / "heads" / branch
    try:
        return loose.read_text(encoding="ascii").strip() or None
    except OSError:
        pass
    try:
        packed = (bare / "packed-refs").read_text(encoding="ascii")
    except OSError:
        return None
    for line in packed.splitlines():
        sha, _, name = line.partition(" ")
        if name == f"refs/heads/{branch}":
            return sha
    return None


class PushReceiver:
    """On every push to ``branch`` of ``bare``, annotate the GitRepository
    ``namespace/name`` with the Receiver's own reconcile request."""

    def __init__(
        self,
        kube_url: str,
        bare: Path,
        branch: str,
        *,
        namespace: str = "flux-system",
        name: str = "flux-system",
        delay: float = DEFAULT_DELAY,
    ) -> None:
        self.api = KubeApi(kube_url, NOTIFICATION_CONTROLLER)
        self.bare = bare
        self.branch = branch
        self.namespace = namespace
        self.name = name
        self.delay = delay
        self.fired: list[str] = []  # the tokens written, for tests
        self._started = time.monotonic()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> PushReceiver:
        self._thread = threading.Thread(
            target=self._run, name="notification-controller:receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.api.close()

    def _run(self) -> None:
        seen = read_ref(self.bare, self.branch)
        while not self._stopping.wait(POLL_SECONDS):
            current = read_ref(self.bare, self.branch)
            if current is None or current == seen:
                continue
            seen = current
            if self._stopping.wait(self.delay):
                return
            self.annotate()

    def annotate(self) -> None:
        """What the Receiver's ``annotate`` does: merge-patch requestedAt with its own value."""
        token = go_now_string(self._started)
        path = self.api.flux_path("GitRepository", self.namespace, self.name)
        try:
            self.api.request(
                "PATCH",
                path,
                {"metadata": {"annotations": {REQUESTED_AT: token}}},
                content_type="application/merge-patch+json",
            )
        except KubeRequestError as error:
            LOG.warning("receiver: annotating GitRepository %s failed: %s", self.name, error)
            return
        self.fired.append(token)
        LOG.info("receiver: push on %s, GitRepository %s annotated", self.branch, self.name)
