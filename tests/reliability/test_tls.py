"""Issue 17 item 6: TLS to GitLab. The sandbox's GitLab is put behind an HTTPS endpoint
whose certificate a private CA signed (tests/integration/tls_helpers.py): verification
is on by default (refused without the CA, at the first handshake, in one line), the CA
is accepted from --ca-file or REQUESTS_CA_BUNDLE — a full bootstrap through TLS ends
Ready —, and plain http:// to a host that is not loopback warns in one stderr line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.integration.bootstrap_helpers import agent_args
from tests.integration.tls_helpers import TlsProxy, make_ca
from tests.reliability.helpers import run_cli, run_watched

# The bound only catches a hang (a busy machine makes the bootstrap several times slower).
pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def https(
    sandbox: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TlsProxy, Path]]:
    """(the HTTPS endpoint in front of the sandbox's GitLab, its CA's certificate)."""
    ca_cert, cert, key = make_ca(tmp_path_factory.mktemp("ca"))
    proxy = TlsProxy(int(urlsplit(sandbox.gitlab_url).port or 80), cert, key)
    yield proxy, ca_cert
    proxy.close()


def helm_release_ready(sandbox: Any, name: str) -> bool:
    from kubernetes import client, config

    api = client.CustomObjectsApi(config.new_client_from_config(str(sandbox.kubeconfig)))
    release: Any = api.get_namespaced_custom_object(
        "helm.toolkit.fluxcd.io", "v2", "flux-system", "helmreleases", name
    )
    conditions = release.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


def test_without_the_ca_the_endpoint_is_refused_at_one_handshake(
    sandbox: Any, https: tuple[TlsProxy, Path]
) -> None:
    proxy, _ = https
    before = proxy.connections
    watched = run_watched(
        sandbox,
        *agent_args("tls-refused"),
        env={"GITLAB_HOST": proxy.url},
        unset=("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"),
    )
    result = watched.result
    assert result.code == 4, result.stderr
    (line,) = error_lines(result.stderr)
    assert "certificate verify failed" in line and "--ca-file" in line, line
    assert "Traceback" not in result.stderr
    # Refused at once: no retry of a TLS failure (pre-flight's first two reads, the survey
    # and the token check, go out together: one attempt each).
    assert 1 <= proxy.connections - before <= 2
    assert watched.writes == []
    # Nothing reached GitLab (the cluster's pre-flight reads, made at the same time, may
    # have: reads only).
    assert not [
        r for r in sandbox.gitlab_requests() if r.get("user_agent", "").startswith("kasboot/")
    ]


def test_full_bootstrap_through_tls_with_ca_file_ends_ready(
    sandbox: Any, https: tuple[TlsProxy, Path]
) -> None:
    proxy, ca_cert = https
    before = proxy.handshakes
    result = run_cli(
        sandbox,
        *agent_args("tls-ready", "--ca-file", str(ca_cert), "--output", "json"),
        env={"GITLAB_HOST": proxy.url},
        unset=("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"),
        timeout=240,
    )
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True, result.stdout
    assert helm_release_ready(sandbox, "tls-ready")
    assert proxy.handshakes > before  # the API calls went through TLS
    assert "Warning" not in result.stderr


def test_requests_ca_bundle_is_trusted(sandbox: Any, https: tuple[TlsProxy, Path]) -> None:
    proxy, ca_cert = https
    result = run_cli(
        sandbox,
        "plan",
        *agent_args("tls-bundle")[1:],
        env={"GITLAB_HOST": proxy.url, "REQUESTS_CA_BUNDLE": str(ca_cert)},
        unset=("SSL_CERT_FILE", "CURL_CA_BUNDLE"),
    )
    assert result.code == 0, result.stderr
    assert "Error:" not in result.stderr


def test_a_wrong_ca_file_is_refused(
    sandbox: Any, https: tuple[TlsProxy, Path], tmp_path: Path
) -> None:
    proxy, _ = https
    other_ca, _, _ = make_ca(tmp_path)  # a CA that did not sign the endpoint's certificate
    result = run_cli(
        sandbox,
        "plan",
        *agent_args("tls-wrong")[1:],
        "--ca-file",
        str(other_ca),
        env={"GITLAB_HOST": proxy.url},
    )
    assert result.code == 4, result.stderr
    (line,) = error_lines(result.stderr)
    assert "certificate verify failed" in line, line


def test_plain_http_to_another_host_warns_in_one_line(sandbox: Any) -> None:
    result = run_cli(
        sandbox,
        "plan",
        *agent_args("tls-plain")[1:],
        env={"GITLAB_HOST": "http://gitlab.kasboot-test.invalid"},
    )
    assert result.code == 4, result.stderr  # the name does not resolve
    warnings = [line for line in result.stderr.splitlines() if "plain http://" in line]
    assert warnings == [
        "Warning: GitLab at http://gitlab.kasboot-test.invalid is plain http://: the token "
        "crosses the network to gitlab.kasboot-test.invalid unencrypted — use https://"
    ], result.stderr
    assert len(error_lines(result.stderr)) == 1
    assert "Traceback" not in result.stderr and "UserWarning" not in result.stderr


def test_plain_http_to_loopback_does_not_warn(sandbox: Any) -> None:
    result = run_cli(sandbox, "plan", *agent_args("tls-loopback")[1:])
    assert result.code == 0, result.stderr
    assert "plain http://" not in result.stderr
