"""Where the GitLab URL and token come from (never a flag, never printed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kasboot.credentials import GitLabCredentials, gitlab_credentials, normalise_url
from kasboot.errors import UsageError


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


def write_glab_config(home: Path, text: str) -> Path:
    path = home / ".config" / "glab-cli" / "config.yml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("env", "url", "source"),
    [
        ({"GITLAB_TOKEN": "t"}, "https://gitlab.com", "GITLAB_TOKEN"),
        ({"GITLAB_ACCESS_TOKEN": "t"}, "https://gitlab.com", "GITLAB_ACCESS_TOKEN"),
        ({"OAUTH_TOKEN": "t"}, "https://gitlab.com", "OAUTH_TOKEN"),
        ({"GITLAB_TOKEN": "t", "GITLAB_HOST": "gitlab.example.com"},
         "https://gitlab.example.com", "GITLAB_TOKEN"),
        ({"GITLAB_TOKEN": "t", "GL_HOST": "http://127.0.0.1:8080/"},
         "http://127.0.0.1:8080", "GITLAB_TOKEN"),
        ({"GITLAB_TOKEN": "t", "CI_SERVER_URL": "https://ci.example.com"},
         "https://ci.example.com", "GITLAB_TOKEN"),
    ],
)  # fmt: skip
def test_environment(home: Path, env: dict[str, str], url: str, source: str) -> None:
    credentials = gitlab_credentials(env={"HOME": str(home), **env})
    assert (credentials.url, credentials.token, credentials.source) == (url, "t", source)


def test_host_precedence(home: Path) -> None:
    env = {"HOME": str(home), "GITLAB_TOKEN": "t", "CI_SERVER_URL": "https://ci.example"}
    assert gitlab_credentials("https://remote.example", env).url == "https://remote.example"
    env["GITLAB_HOST"] = "host.example"
    # The hint is a host the project's URL names (-R URL, glab's meaning): it wins;
    # a clone's remote host is passed only when no GITLAB_HOST is set (localrepo).
    assert gitlab_credentials("https://remote.example", env).url == "https://remote.example"
    assert gitlab_credentials(None, env).url == "https://host.example"


GLAB_CONFIG = """\
git_protocol: ssh
host: gitlab.example.com
hosts:
  gitlab.com:
    token: glpat-public
  gitlab.example.com:
    token: glpat-example
    api_protocol: https
    api_host: gitlab.example.com
  local.test:8443:
    token: glpat-local
    api_protocol: http
"""


def test_glab_config_per_host(home: Path) -> None:
    path = write_glab_config(home, GLAB_CONFIG)
    env = {"HOME": str(home)}
    default = gitlab_credentials(env=env)
    assert (default.url, default.token) == ("https://gitlab.example.com", "glpat-example")
    assert str(path) in default.source
    assert gitlab_credentials("https://gitlab.com", env).token == "glpat-public"
    local = gitlab_credentials(env={**env, "GITLAB_HOST": "http://local.test:8443"})
    assert (local.url, local.token) == ("http://local.test:8443", "glpat-local")


def test_glab_legacy_config_dir_wins_over_xdg_as_in_glab(home: Path, tmp_path: Path) -> None:
    """glab keeps reading ~/.config/glab-cli while its config.yml exists, even with
    XDG_CONFIG_HOME set elsewhere; kasboot reads the token from the same file."""
    legacy = write_glab_config(home, GLAB_CONFIG)
    xdg = tmp_path / "xdg"
    (xdg / "glab-cli").mkdir(parents=True)
    (xdg / "glab-cli" / "config.yml").write_text(
        GLAB_CONFIG.replace("glpat-example", "glpat-xdg"), encoding="utf-8"
    )
    found = gitlab_credentials(env={"HOME": str(home), "XDG_CONFIG_HOME": str(xdg)})
    assert found.token == "glpat-example" and str(legacy) in found.source
    legacy.unlink()
    moved = gitlab_credentials(env={"HOME": str(home), "XDG_CONFIG_HOME": str(xdg)})
    assert moved.token == "glpat-xdg"


def test_env_token_beats_config(home: Path) -> None:
    write_glab_config(home, GLAB_CONFIG)
    assert gitlab_credentials(env={"HOME": str(home), "GITLAB_TOKEN": "env"}).token == "env"


def test_python_gitlab_config(home: Path) -> None:
    cfg = home / "pg.cfg"
    cfg.write_text(
        "[global]\ndefault = work\n\n[work]\nurl = https://git.work.example/\n"
        "private_token = glpat-work\n\n[other]\nurl = https://other.example\n"
        "oauth_token = oauth-other\n"
    )
    env = {"HOME": str(home), "PYTHON_GITLAB_CFG": str(cfg)}
    work = gitlab_credentials(env=env)
    assert (work.url, work.token) == ("https://git.work.example", "glpat-work")
    assert "section work" in work.source
    assert gitlab_credentials("https://other.example", env).token == "oauth-other"


def test_job_token_alone_is_explained(home: Path) -> None:
    with pytest.raises(UsageError, match="CI_JOB_TOKEN") as caught:
        gitlab_credentials(env={"HOME": str(home), "CI_JOB_TOKEN": "job"})
    assert caught.value.hint and "GITLAB_TOKEN" in caught.value.hint


def test_no_token(home: Path) -> None:
    with pytest.raises(UsageError, match=r"no GitLab token found for https://gitlab\.com"):
        gitlab_credentials(env={"HOME": str(home)})


def test_token_never_in_repr_or_str() -> None:
    credentials = GitLabCredentials(url="https://g", token="glpat-secret", source="GITLAB_TOKEN")
    assert "glpat-secret" not in repr(credentials)
    assert "glpat-secret" not in str(credentials)


@pytest.mark.parametrize(
    ("given", "url"),
    [("gitlab.example.com", "https://gitlab.example.com"),
     ("HTTPS://GitLab.Example.com/", "https://gitlab.example.com"),
     ("https://gitlab.example.com/api/v4", "https://gitlab.example.com"),
     ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
     ("https://example.com/gitlab", "https://example.com/gitlab")],
)  # fmt: skip
def test_normalise_url(given: str, url: str) -> None:
    assert normalise_url(given) == url


def test_bad_host() -> None:
    with pytest.raises(UsageError, match="invalid GitLab host"):
        normalise_url("ftp://x")
