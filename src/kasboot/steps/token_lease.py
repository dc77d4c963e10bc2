"""The token lease: a coordination.k8s.io/v1 Lease beside the token Secret that a run
takes before it revokes or mints a token, and that says which token it is storing.

Two runs rotating one agent's token at once would otherwise each see the other's new
token as "not held by the cluster" and revoke it. With the lease the second run waits
while the first is between minting and storing; once the Secret holds the token the
lease names (or the lease has expired: its holder died), the lease is free, and the
second run re-reads the Secret and the tokens before it decides anything.

The lease is ``kasboot-token-<secret name>`` in the Secret's namespace; its holder is
a random run id; ``spec.leaseDurationSeconds`` covers minting and storing (a run that
fails before it stored releases the lease at once)."""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from datetime import datetime, timezone
from typing import Any

from kasboot.cluster import MANAGED_BY_LABEL, LeaseTaken
from kasboot.doctor.context import parse_gitlab_time as parse_time
from kasboot.errors import ClusterError
from kasboot.steps.context import BootstrapContext
from kasboot.steps.token import held_token_id

TOKEN_ANNOTATION = "kasboot.dev/storing-token-id"
POLL_SECONDS = 0.5
# The holder renews its lease every RENEW_SECONDS while it holds it (however long the
# mint takes through GitLab's retries); a run that died stops renewing, and its lease
# is free LEASE_SECONDS later, so the re-run after a crash waits at most that long.
LEASE_SECONDS = 30
RENEW_SECONDS = 10


def _now() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}Z"


def lease_name(ctx: BootstrapContext) -> tuple[str, str]:
    settings = ctx.settings
    return (
        settings.helm_release_target_namespace,
        f"kasboot-token-{settings.gitlab_agent_token_secret_name}"[:253],
    )


class TokenLease:
    def __init__(self, ctx: BootstrapContext) -> None:
        self.ctx = ctx
        self.namespace, self.name = lease_name(ctx)
        self.holder = f"kasboot-{secrets.token_hex(8)}"
        self.held: dict[str, Any] | None = None
        self.disabled = False  # no permission to use Leases
        self._storing: int | None = None
        self.created_namespace = False  # this run created the lease's namespace
        self.first_in_namespace = False  # … and took the lease at its first try there
        self.lost = False  # a renewal found the lease taken by another run
        self._renewed_at = 0.0
        self._lock = threading.Lock()  # the renewal thread and the step write the lease
        self._stop = threading.Event()

    def _body(self, resource_version: str | None, token_id: int | None) -> dict[str, Any]:
        duration = LEASE_SECONDS
        metadata: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "labels": dict([MANAGED_BY_LABEL]),
            "annotations": {TOKEN_ANNOTATION: "" if token_id is None else str(token_id)},
        }
        if resource_version:
            metadata["resourceVersion"] = resource_version
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": self.holder,
                "leaseDurationSeconds": duration,
                "acquireTime": _now(),
                "renewTime": _now(),
            },
        }

    def _free(self, lease: dict[str, Any]) -> bool:
        """Expired (its holder died), released, or its token is in the Secret already."""
        spec = lease.get("spec") or {}
        if not spec.get("holderIdentity"):
            return True
        renewed = parse_time(spec.get("renewTime") or spec.get("acquireTime"))
        duration = float(spec.get("leaseDurationSeconds") or 0)
        if renewed is None or (datetime.now(timezone.utc) - renewed).total_seconds() > duration:
            return True
        storing = ((lease.get("metadata") or {}).get("annotations") or {}).get(TOKEN_ANNOTATION)
        if not storing:
            return False
        secret = self.ctx.cluster.get_secret(
            self.ctx.settings.helm_release_target_namespace,
            self.ctx.settings.gitlab_agent_token_secret_name,
        )
        return str(held_token_id(secret)) == storing

    def acquire(self, deadline: float) -> None:
        """Take the lease, waiting (until ``deadline``) while another run holds it.
        Credentials that may not use Leases (403): go on without it — the in-flight
        rule of steps/token_choice.py still keeps another run's fresh token."""
        try:
            self._acquire(deadline)
        except ClusterError as error:
            if error.status != 403:
                raise
            self.held = None
            self.disabled = True
        if self.held is not None:
            threading.Thread(target=self._renew, name="kasboot-lease", daemon=True).start()

    def _renew(self) -> None:
        """Keep the lease fresh while this run holds it. A renewal that fails is left for
        ``storing`` to notice (a lost lease answers there with a conflict)."""
        while not self._stop.wait(RENEW_SECONDS):
            with self._lock:
                if self.held is None:
                    return
                try:
                    renewed = self._replace_own(self._storing)
                except Exception:  # a passing failure: try again at the next renewal
                    continue
                if renewed is not None:
                    self.held = renewed
                    self._written()
                else:
                    self.lost = True

    def _acquire(self, deadline: float) -> None:
        """Create the lease first (a first run finds none: one request), and look at it
        only when it exists; take it over once it is free."""
        current: dict[str, Any] | None = None
        exists = False  # known to exist: poll it rather than try to create it
        free = False  # … and free to take over, as last read
        namespace_tried = False
        contended = False
        if self.ctx.token_secret_read and self.ctx.token_secret is None:
            # No Secret yet (a first bootstrap, as a rule): its namespace is likely missing
            # too — create it first (an existing one answers 409) rather than learn that
            # from the lease's 404: two requests instead of three. A user who may not
            # create namespaces (403) works in one made for it: the lease tells.
            try:
                self.created_namespace = self.ctx.cluster.create_namespace(
                    self.namespace, self.ctx.agent_identity
                )
                namespace_tried = True
            except ClusterError as error:
                if error.status != 403:
                    raise
        while True:
            try:
                if not exists:
                    self.held = self.ctx.cluster.create_lease(
                        self.namespace, self._body(None, None)
                    )
                    if self.held is not None:
                        self._written()
                        # The namespace is this run's and nobody took the lease before
                        # us: no kasboot run can have stored a Secret in it.
                        self.first_in_namespace = self.created_namespace and not contended
                        return
                    if not namespace_tried:
                        # No namespace yet (a first bootstrap): the Secret step would
                        # create it anyway; the lease must be in it before the mint.
                        namespace_tried = True
                        self.created_namespace = self.ctx.cluster.create_namespace(
                            self.namespace, self.ctx.agent_identity
                        )
                        continue
                    # Still 404 with the namespace there: no Lease API to lock with; the
                    # in-flight rule alone keeps another run's fresh token, as on a 403.
                    self.disabled = True
                    return
                elif current is not None and free:
                    rv = (current.get("metadata") or {}).get("resourceVersion")
                    self.held = self.ctx.cluster.replace_lease(self.namespace, self._body(rv, None))
                    if self.held is not None:
                        self._written()
                        return
            except LeaseTaken:
                contended = True  # another run was first (it exists, or it changed)
            current = self.ctx.cluster.get_lease(self.namespace, self.name)
            exists = current is not None
            free = current is not None and self._free(current)
            if (free or not exists) and time.monotonic() < deadline:
                continue  # gone or free: try to take it at once
            if time.monotonic() >= deadline:
                holder = ((current or {}).get("spec") or {}).get("holderIdentity")
                raise ClusterError(
                    f"another kasboot run ({holder}) holds Lease {self.namespace}/{self.name} "
                    "while it stores a new token for this agent",
                    hint="wait for it to finish, then run again (the lease expires on its own "
                    "if that run died)",
                )
            time.sleep(POLL_SECONDS)

    def _written(self) -> None:
        self._renewed_at = time.monotonic()

    def held_throughout(self) -> bool:
        """Whether this run has held the lease without a gap since it took it (every
        renewal written in time): then no other kasboot run wrote the Secret meanwhile."""
        return (
            self.held is not None
            and not self.lost
            and time.monotonic() - self._renewed_at < LEASE_SECONDS
        )

    def storing(self, token_id: int) -> None:
        """Say which token this run is about to store (a waiting run then knows when we
        are done). Lost the lease meanwhile: stop before the token is stored."""
        if self.disabled:
            return
        with self._lock:
            assert self.held is not None
            self._storing = token_id
            self.held = self._replace_own(token_id)
            if self.held is not None:
                self._written()
        if self.held is None:
            raise ClusterError(
                f"Lease {self.namespace}/{self.name} was taken by another run before token "
                f"{token_id} was stored",
                hint="run again: the other run's token is the cluster's now",
            )

    def _replace_own(self, token_id: int | None) -> dict[str, Any] | None:
        """Write the lease we hold; None when another run holds it now. A conflict may be
        our own earlier write whose answer was lost (a retried PUT meets the version it
        made): re-read, and when the holder is still us, write again on that version."""
        lease: dict[str, Any] | None = self.held
        for _attempt in range(3):
            rv = ((lease or {}).get("metadata") or {}).get("resourceVersion")
            try:
                return self.ctx.cluster.replace_lease(self.namespace, self._body(rv, token_id))
            except LeaseTaken:
                lease = self.ctx.cluster.get_lease(self.namespace, self.name)
                if ((lease or {}).get("spec") or {}).get("holderIdentity") != self.holder:
                    return None
        return None

    def release(self) -> None:
        self._stop.set()
        with self._lock:
            self._release()

    def _release(self) -> None:
        """Delete the lease this run holds — exactly the version it wrote last
        (precondition): one that changed hands meanwhile is left to its new holder."""
        if self.held is None:
            return
        version = (self.held.get("metadata") or {}).get("resourceVersion")
        with contextlib.suppress(LeaseTaken):  # taken over after it expired: theirs now
            self.ctx.cluster.delete_lease(self.namespace, self.name, version)
        self.held = None
