"""agentk's image tag: the OCI tag grammar, and the tag derived from GitLab's KAS version
the way GitLab's own install command derives it (``install_version_info``)."""

from __future__ import annotations

import pytest

from kasboot.doctor.versions import install_tag, is_valid_image_tag
from kasboot.settings import Settings
from kasboot.steps.manifests import agent_image_choice

SHA = "6a0281c68969d9ce8f36fdaf242b4f6e0503d940"


@pytest.mark.parametrize(
    ("tag", "valid"),
    [
        ("v17.4.0", True),
        ("latest", True),
        ("v17.4.0-rc1", True),
        ("_x", True),
        ("a" * 128, True),
        ("a" * 129, False),
        (f"v17.4.0-rc1+{SHA}", False),  # '+' is not in the grammar
        ("-v1", False),
        (".v1", False),
        ("", False),
        ("v1 2", False),
        ("v1/2", False),
    ],
)
def test_tag_grammar(tag: str, valid: bool) -> None:
    assert is_valid_image_tag(tag) is valid


@pytest.mark.parametrize(
    ("kas_version", "tag"),
    [
        ("17.11.0", "v17.11.0"),
        ("17.11.3", "v17.11.0"),  # without_patch, as GitLab's install command
        ("18.2.1", "v18.2.0"),
        (f"17.4.0-rc1+{SHA}", None),  # GitLab.com: a commit build, no release tag
        ("17.4.0-rc1", None),
        (f"17.4.0+{SHA}", None),
        ("17.4.0-ee", None),
        (None, None),  # kas.version null
        ("", None),
        ("Unknown", None),
        ("17.4", None),
    ],
)
def test_install_tag_is_clean_or_nothing(kas_version: str | None, tag: str | None) -> None:
    choice = install_tag(kas_version)
    assert choice.tag == tag
    if choice.tag is not None:
        assert is_valid_image_tag(choice.tag)
    else:
        assert "chart default" in choice.why


def test_gitlab_com_leaves_the_chart_default() -> None:
    assert install_tag("17.4.0", "https://gitlab.com").tag is None
    assert install_tag("17.4.0", "https://gitlab.example.com").tag == "v17.4.0"


def test_agent_version_wins_over_any_kas_version() -> None:
    settings = Settings(agent="a", agent_version="v17.10.2")
    for kas in ("17.11.0", f"17.4.0-rc1+{SHA}", None):
        assert agent_image_choice(settings, kas).tag == "v17.10.2"
    unpinned = Settings(agent="a", pin_version=False)
    assert agent_image_choice(unpinned, "17.11.0").tag is None
