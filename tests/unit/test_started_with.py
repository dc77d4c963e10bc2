"""Which token agentk's pods run with (steps/agent_restart.py): a restart's stamp decides;
without one, a token Secret whose token a replace took out leaves them on that token."""

from __future__ import annotations

from kasboot.cluster import REPLACED_TOKEN, STARTED_WITH_TOKEN
from kasboot.steps.agent_restart import started_with

TOKEN = {"id": 7, "created_at": "2026-12-01T10:00:00Z"}


def _deployment(template_stamp: str | None = None) -> dict[str, object]:
    annotations = {STARTED_WITH_TOKEN: template_stamp} if template_stamp else {}
    return {
        "metadata": {"creationTimestamp": "2026-12-01T10:00:01Z"},
        "spec": {"template": {"metadata": {"annotations": annotations}}},
    }


def _secret(replaced: str | None) -> dict[str, object]:
    return {"metadata": {"annotations": {REPLACED_TOKEN: replaced} if replaced else {}}}


def test_a_stamp_decides_whatever_the_secret_says() -> None:
    assert started_with(_deployment("7"), TOKEN, _secret("6")) is True
    assert started_with(_deployment("6"), TOKEN, _secret(None)) is False


def test_unstamped_pods_after_a_replace_run_on_the_older_token() -> None:
    # Created a second after the token was minted: the clock alone cannot tell.
    assert started_with(_deployment(), TOKEN, _secret(None)) is None
    assert started_with(_deployment(), TOKEN, _secret("6")) is False
