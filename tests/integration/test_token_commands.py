"""An agent bootstrapped with custom names and path; then `token list`, `token rotate`,
`token revoke` and `uninstall` with NO flags find its Secret and names from the record
bootstrap left. `token revoke` refuses the token the cluster holds (exit 3, nothing
written) unless --force."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import gitlab
import pytest

from kasboot.cluster import TOKEN_ID_ANNOTATION
from tests.integration.bootstrap_helpers import kasboot_writes, run_kasboot

pytestmark = pytest.mark.sandbox
KUBECTL = str(Path(sys.executable).parent / "kubectl")
AGENT = "tok-custom"
NAMESPACE = "tok-custom-ns"
SECRET = "tok-custom-credential"
CUSTOM = [
    "--manifest-path",
    "clusters/sandbox/elsewhere/tok",
    "--helm-release-name",
    "tok-release",
    "--helm-release-target-namespace",
    NAMESPACE,
    "--gitlab-agent-token-secret-name",
    SECRET,
    "--helm-repository-name",
    "gitlab-tok",
    "--environment-name",
    "tok-env",
    "--flux-environment-name",
    "tok-flux",
]


def secret(sandbox: Any) -> dict[str, Any] | None:
    command = [KUBECTL, "--kubeconfig", str(sandbox.kubeconfig), "get", "secret", SECRET]
    found = subprocess.run(
        [*command, "-n", NAMESPACE, "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    return dict(json.loads(found.stdout)) if found.returncode == 0 else None


def held(sandbox: Any) -> int:
    found = secret(sandbox)
    assert found is not None
    return int(found["metadata"]["annotations"][TOKEN_ID_ANNOTATION])


@pytest.fixture(scope="module")
def project(sandbox: Any) -> Any:
    result = run_kasboot(sandbox, "bootstrap", AGENT, *CUSTOM, "--timeout", "60s")
    assert result.code == 0, result.stderr
    return gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token).projects.get(
        sandbox.project
    )


def test_list_then_rotate_then_revoke_with_no_flags(sandbox: Any, project: Any) -> None:
    first = held(sandbox)
    listed = run_kasboot(sandbox, "token", "list", AGENT, "-o", "json")
    assert listed.code == 0, listed.stderr
    document = listed.json()
    assert document["held_token_id"] == first
    (token,) = document["tokens"]
    assert token["id"] == first and token["minted_by_kasboot"]
    assert f"Secret {NAMESPACE}/{SECRET}" in token["held_by"]

    text = run_kasboot(sandbox, "token", "list", AGENT)
    assert text.code == 0 and str(first) in text.stdout and "this cluster" in text.stdout

    # The held token is refused without --force, and nothing is written.
    sandbox.clear_logs()
    refused = run_kasboot(sandbox, "token", "revoke", AGENT, str(first))
    assert refused.code == 3, refused.stderr
    assert "this cluster holds" in refused.stderr
    assert kasboot_writes(sandbox.gitlab_requests()) == []

    rotated = run_kasboot(sandbox, "token", "rotate", AGENT, "--timeout", "60s")
    assert rotated.code == 0, rotated.stderr
    second = held(sandbox)
    assert second != first
    # The follow-up hint names a command that revokes, not one that mints a third token.
    assert f"kasboot token revoke {AGENT} {first}" in rotated.stdout
    token_value = base64.b64decode((secret(sandbox) or {})["data"]["token"]).decode()
    assert token_value not in rotated.stdout + rotated.stderr

    revoked = run_kasboot(sandbox, "token", "revoke", AGENT, str(first), "-o", "json")
    assert revoked.code == 0, revoked.stderr
    assert revoked.json()["revoked_token_ids"] == [first]
    again = run_kasboot(sandbox, "token", "list", AGENT, "-o", "json")
    assert [t["id"] for t in again.json()["tokens"]] == [second]


def test_status_and_doctor_with_no_flags_find_the_custom_names(sandbox: Any, project: Any) -> None:
    status = run_kasboot(sandbox, "status", AGENT, "-o", "json")
    assert status.code == 0, status.stdout + status.stderr
    document = status.json()
    assert (document["secret"]["namespace"], document["secret"]["name"]) == (NAMESPACE, SECRET)
    assert document["helm_release"]["name"] == "tok-release" and document["healthy"]
    assert document["settings_from"] == f"Secret {NAMESPACE}/{SECRET}"
    doctor = run_kasboot(sandbox, "doctor", AGENT, "-o", "json")
    assert f"{NAMESPACE}/{SECRET}" in doctor.stdout, doctor.stdout
    assert "tok-release" in doctor.stdout


def test_a_contradicting_flag_or_two_claimants_refuse(sandbox: Any, project: Any) -> None:
    sandbox.clear_logs()
    wrong = run_kasboot(sandbox, "token", "rotate", AGENT, "--helm-release-name", "other")
    assert wrong.code == 3, wrong.stderr
    assert "--helm-release-name 'other' (bootstrapped with 'tok-release')" in wrong.stderr
    # A copy of the agent's Secret elsewhere: which one is the agent's is a guess.
    original = secret(sandbox)
    assert original is not None
    metadata = original["metadata"]
    copy = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "stray-copy",
            "namespace": "flux-system",
            "labels": metadata["labels"],
            "annotations": metadata["annotations"],
        },
        "data": {"token": ""},
    }
    kubectl = [KUBECTL, "--kubeconfig", str(sandbox.kubeconfig)]
    made = subprocess.run(
        [*kubectl, "apply", "-f", "-"], input=json.dumps(copy), text=True, capture_output=True
    )
    assert made.returncode == 0, made.stderr
    try:
        ambiguous = run_kasboot(sandbox, "uninstall", AGENT)
        assert ambiguous.code == 3, ambiguous.stderr
        assert "more than one Secret holds a token of agent" in ambiguous.stderr
        assert "flux-system/stray-copy" in ambiguous.stderr
    finally:
        removal = ["delete", "secret", "stray-copy", "-n", "flux-system"]
        subprocess.run([*kubectl, *removal], check=True, capture_output=True)
    assert kasboot_writes(sandbox.gitlab_requests()) == []
    assert kasboot_writes(sandbox.kube_requests()) == []


def test_uninstall_with_no_flags_finds_the_custom_names(sandbox: Any, project: Any) -> None:
    result = run_kasboot(sandbox, "uninstall", AGENT, "-o", "json", "--timeout", "60s")
    assert result.code == 0, result.stderr
    outcome = result.json()
    assert set(outcome["files"]) == {
        "clusters/sandbox/elsewhere/tok/gitlab-helm-repository.yaml",
        "clusters/sandbox/elsewhere/tok/gitlab-agent-helm-release.yaml",
    }
    assert outcome["secret_deleted"] and outcome["secret"] == f"{NAMESPACE}/{SECRET}"
    assert secret(sandbox) is None
    assert set(outcome["deleted_environments"]) == {"tok-env", "tok-flux"}
