"""Inputs GitLab would refuse are refused before any request (exit 2)."""

from __future__ import annotations

import pytest

from kasboot.credentials import check_header_safe
from kasboot.errors import UsageError


def test_flux_resource_path_longer_than_gitlab_keeps_is_usage_error() -> None:
    from kasboot.validation import check_flux_resource_path

    ok = "helm.toolkit.fluxcd.io/v2/namespaces/flux-system/helmreleases/a"
    assert check_flux_resource_path(ok, "--environment-flux-resource-path") == ok
    with pytest.raises(UsageError):
        check_flux_resource_path(ok + "a" * 250, "--environment-flux-resource-path")


@pytest.mark.parametrize("token", ["glpat-a\nb", "glpat-ä", "glpat a", "glpat-\x00"])
def test_tokens_no_header_can_carry(token: str) -> None:
    with pytest.raises(UsageError) as refused:
        check_header_safe(token, "GITLAB_TOKEN")
    assert token not in refused.value.one_line()


def test_a_gitlab_token_fits() -> None:
    assert check_header_safe("glpat-AbC_12-x", "GITLAB_TOKEN") == "glpat-AbC_12-x"


def test_oauth_and_ca_from_the_config_files(tmp_path: object) -> None:
    from pathlib import Path

    from kasboot.credentials import gitlab_credentials

    home = Path(str(tmp_path))
    (home / ".python-gitlab.cfg").write_text(
        "[global]\ndefault = work\n[work]\nurl = https://gitlab.work.example\n"
        "oauth_token = abc123\nssl_verify = /etc/work-ca.pem\n"
    )
    found = gitlab_credentials(env={"HOME": str(home)})
    assert (found.kind, found.ca_file) == ("oauth", "/etc/work-ca.pem")
    glab = home / ".config" / "glab-cli"
    glab.mkdir(parents=True)
    (glab / "config.yml").write_text(
        "host: gitlab.example.com\nhosts:\n  gitlab.example.com:\n    token: t0k3n\n"
        '    is_oauth2: "true"\n    ca_cert: /etc/ca.pem\n'
    )
    found = gitlab_credentials(env={"HOME": str(home)})
    assert (found.url, found.kind, found.ca_file) == (
        "https://gitlab.example.com",
        "oauth",
        "/etc/ca.pem",
    )
    found = gitlab_credentials(env={"HOME": str(home), "GITLAB_TOKEN": "glpat-x"})
    assert found.kind == "pat"
    found = gitlab_credentials(
        env={
            "HOME": str(home),
            "OAUTH_TOKEN": "o",
            "GITLAB_HOST": "gitlab.example.com",
            "SSL_CERT_FILE": "/etc/ssl.pem",
        }
    )
    assert found.kind == "oauth"
    assert found.ca_file == "/etc/ca.pem"  # glab's ca_cert for that host comes first
    found = gitlab_credentials(env={"HOME": str(home), "OAUTH_TOKEN": "o", "SSL_CERT_FILE": "/x"})
    assert found.ca_file == "/x"  # gitlab.com: no stored CA, the environment's
