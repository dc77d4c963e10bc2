"""The revision the reconcile wait wants a Git source and its Kustomizations to reach.

source-controller names a GitRepository's artifact after the branch's HEAD when it
fetches (``<branch>@sha1:<HEAD>``, source-controller docs: "the specified branch and
resolved HEAD revision are used as the Artifact revision"), and a Kustomization applies
(``lastAttemptedRevision``/``lastAppliedRevision``) whatever artifact its source has.
When another commit lands on the branch after kasboot's and before Flux fetches — the
next cluster of a fleet committing to the same branch, a colleague's push — Flux never
reports kasboot's commit: it goes straight to a later one that contains it. That later
revision holds everything kasboot wrote, so it counts as reached. An older or unrelated
revision does not.

The rule is carried by the expected revision string itself (a ``str`` whose text is
kasboot's own ``<branch>@sha1:<sha>``), so the wait and its messages stay as they are;
flux/health.py asks ``contained_in`` when the text alone does not match."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from kasboot.errors import KasbootError

LOG = logging.getLogger("kasboot.flux")
_SHA1 = re.compile(r"[0-9a-f]{40}")


class ExpectedRevision(str):
    """``<prefix>@sha1:<sha>``, also reached by a later revision of the same ref whose
    history holds ``sha`` — as ``contains(later_sha)`` answers (GitLab's merge base)."""

    prefix: str
    sha: str
    _contains: Callable[[str], bool]
    # commits known to come before ``sha`` (the branch head it was committed on): Flux
    # reporting one of them has not reached it, and no question needs asking
    _older: frozenset[str]

    def __new__(
        cls,
        prefix: str,
        sha: str,
        contains: Callable[[str], bool],
        older: frozenset[str] = frozenset(),
    ) -> ExpectedRevision:
        made = super().__new__(cls, f"{prefix}@sha1:{sha}")
        made.prefix, made.sha, made._contains, made._older = prefix, sha, contains, older
        return made

    def contained_in(self, observed: str | None) -> bool:
        """Whether ``observed`` (a revision Flux reports) is a later revision of this
        ref holding this commit. Asked only when the text differs; a failed question
        counts as no (the wait goes on, and a later event asks again)."""
        if not observed:
            return False
        ref, at, digest = observed.rpartition("@")
        if at and ref != self.prefix:
            return False
        later = digest.rpartition(":")[2]
        if not _SHA1.fullmatch(later) or later in self._older:
            return False
        try:
            return self._contains(later)
        except KasbootError as error:
            LOG.debug("could not tell whether %s contains %s: %s", later, self.sha, error)
            return False
