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
