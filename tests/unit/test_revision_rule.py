"""The reconcile wait's revision rule (flux/revision.py + flux/health.py): kasboot's own
commit, or a later revision of the same ref whose history holds it; never an older or
unrelated one, nor another ref's."""

from __future__ import annotations

from typing import Any

from kasboot.errors import GitLabError
from kasboot.flux.health import Phase, assess
from kasboot.flux.revision import ExpectedRevision

OURS = "a" * 40
LATER = "b" * 40
OLDER = "c" * 40


class History:
    """Which commits hold OURS, and what was asked."""

    def __init__(self, holding: set[str], fails: bool = False) -> None:
        self.holding = holding
        self.fails = fails
        self.asked: list[str] = []

    def __call__(self, later: str) -> bool:
        self.asked.append(later)
        if self.fails:
            raise GitLabError("GitLab said 503 while comparing commits")
        return later in self.holding


def source(revision: str, ready: str = "True") -> dict[str, Any]:
    return {
        "kind": "GitRepository",
        "metadata": {"generation": 1},
        "status": {
            "observedGeneration": 1,
            "artifact": {"revision": revision},
            "conditions": [{"type": "Ready", "status": ready, "reason": "Succeeded"}],
        },
    }


def test_the_text_is_kasboots_commit_and_its_own_revision_asks_nothing() -> None:
    history = History(set())
    expected = ExpectedRevision("main", OURS, history)
    assert expected == f"main@sha1:{OURS}"
    assert assess(source(f"main@sha1:{OURS}"), expected_revision=expected).phase is Phase.READY
    assert history.asked == []


def test_a_later_revision_holding_the_commit_is_reached() -> None:
    history = History({LATER})
    expected = ExpectedRevision("main", OURS, history)
    assert assess(source(f"main@sha1:{LATER}"), expected_revision=expected).phase is Phase.READY
    assert history.asked == [LATER]


def test_an_older_or_unrelated_revision_is_waited_past() -> None:
    history = History({LATER})
    expected = ExpectedRevision("main", OURS, history)
    health = assess(source(f"main@sha1:{OLDER}"), expected_revision=expected)
    assert health.phase is Phase.PROGRESSING and health.reason == "RevisionNotReached"
    assert f"main@sha1:{OURS}" in health.message


def test_another_refs_revision_and_a_non_sha_are_never_asked_about() -> None:
    history = History({LATER})
    expected = ExpectedRevision("refs/heads/main", OURS, history)
    assert not expected.contained_in(f"main@sha1:{LATER}")
    assert not expected.contained_in(f"refs/heads/other@sha1:{LATER}")
    assert not expected.contained_in("latest@sha256:" + "d" * 64)
    assert not expected.contained_in(None)
    assert history.asked == []
    assert expected.contained_in(f"refs/heads/main@sha1:{LATER}")


def test_a_failed_question_is_no_and_asked_again_later() -> None:
    history = History({LATER}, fails=True)
    expected = ExpectedRevision("main", OURS, history)
    assert assess(source(f"main@sha1:{LATER}"), expected_revision=expected).phase is (
        Phase.PROGRESSING
    )
    history.fails = False
    assert assess(source(f"main@sha1:{LATER}"), expected_revision=expected).phase is Phase.READY
    assert history.asked == [LATER, LATER]


def kustomization(attempted: str) -> dict[str, Any]:
    return {
        "kind": "Kustomization",
        "metadata": {"generation": 1},
        "status": {
            "observedGeneration": 1,
            "lastAttemptedRevision": attempted,
            "conditions": [
                {"type": "Ready", "status": "False", "reason": "BuildFailed", "message": "boom"}
            ],
        },
    }


def test_a_kustomization_failing_on_a_later_revision_holding_the_commit_failed() -> None:
    expected = ExpectedRevision("main", OURS, History({LATER}))
    assert assess(kustomization(f"main@sha1:{LATER}"), expected_revision=expected).phase is (
        Phase.FAILED
    )
    # its failure on an older revision is stale: the wait goes on
    assert assess(kustomization(f"main@sha1:{OLDER}"), expected_revision=expected).phase is (
        Phase.PROGRESSING
    )


def test_the_head_it_was_committed_on_is_not_reached_without_a_question() -> None:
    asked: list[str] = []

    def contains(later: str) -> bool:
        asked.append(later)
        return False

    expected = ExpectedRevision("main", OURS, contains, frozenset({LATER}))
    assert not expected.contained_in(f"main@sha1:{LATER}")
    assert asked == []
