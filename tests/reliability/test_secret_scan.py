"""What kasboot recognises as a GitLab token (to refuse it in values and options, and
to redact it from --debug's request log), and the fix every printed error names."""

from __future__ import annotations

import pytest

from kasboot.errors import ClusterError, GitLabError, PreflightError, printed_line
from kasboot.secret_scan import looks_like_token, redact_url, token_keys


@pytest.mark.parametrize(
    "text",
    [
        "glpat-abcdefghijklmnopqrst",
        "glpat-abcdefghijklmnopqrstuvwxyz0.01.0123456789",  # routable
        "acme-glpat-abcdefghijklmnop",  # an instance prefix in front
        "glagent-" + "x" * 50,
        "Bearer gldt-abcdefghijklmnopqrst",
        "GR1348941abcdefghijklmnopqrst",
    ],
)
def test_tokens_are_recognised(text: str) -> None:
    assert looks_like_token(text)


@pytest.mark.parametrize(
    "text", ["glpat-short", "myglpat-abcdefghijklmnop", "gitlab-agent-token", "v17.11.0"]
)
def test_words_are_not_tokens(text: str) -> None:
    assert not looks_like_token(text)


def test_token_keys_name_the_path() -> None:
    tree = {"a": [{"b": "glpat-abcdefghijklmnopqrst"}], "c": {"d": 1}}
    assert list(token_keys(tree)) == ["a[0].b"]


def test_urls_are_redacted_for_the_log() -> None:
    url = "https://user:secret@gitlab.example.com/api/v4/x?private_token=abc&page=2"
    assert (
        redact_url(url)
        == "https://<redacted>@gitlab.example.com/api/v4/x?private_token=<redacted>&page=2"
    )
    assert "glpat" not in redact_url("https://h/api/v4/x?q=glpat-abcdefghijklmnopqrst")


def test_every_printed_error_names_a_fix() -> None:
    assert printed_line(PreflightError("x", hint="do y")) == "x — do y"
    assert "check -R (or KASBOOT_REPO)" in printed_line(GitLabError("GitLab said 404", status=404))
    assert " — " in printed_line(GitLabError("GitLab said 400", status=400))
    assert " — " in printed_line(ClusterError("cluster said 422"))
