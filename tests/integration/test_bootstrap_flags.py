"""Each of glab's flags changes what it should: names, namespaces, paths, files,
branch, author. The real CLI against the shared sandbox; --no-reconcile where Flux's
reaction is not what the flag is about."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import gitlab
import pytest
from ruamel.yaml import YAML

from kasboot.cluster import TOKEN_ID_ANNOTATION
from tests.integration.bootstrap_helpers import agent_args, kasboot_writes, run_kasboot
from tests.integration.test_bootstrap import KUBECTL, kubectl_json

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def project(sandbox: Any) -> Any:
    return gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token).projects.get(
        sandbox.project
    )


def read_yaml(project: Any, path: str, ref: str = "main") -> Any:
    return YAML(typ="safe").load(project.files.get(path, ref=ref).decode())


def base_args(name: str) -> list[str]:
    return agent_args(name, "--no-reconcile")


def ensure_namespace(sandbox: Any, name: str) -> None:
    """Flux applies objects only into namespaces that exist: a user creates them first."""
    kubectl_apply(sandbox, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def kubectl_apply(sandbox: Any, obj: dict[str, Any]) -> None:
    manifest = json.dumps(obj)
    subprocess.run(
        [KUBECTL, "--kubeconfig", str(sandbox.kubeconfig), "apply", "-f", "-"],
        input=manifest,
        text=True,
        check=True,
        capture_output=True,
    )


def test_helm_repository_flags(sandbox: Any, project: Any) -> None:
    ensure_namespace(sandbox, "charts")
    result = run_kasboot(
        sandbox,
        *base_args("repoflags"),
        "--helm-repository-address",
        "https://charts.example.com/gitlab",
        "--helm-repository-namespace",
        "charts",
        "--helm-repository-filepath",
        "repo.yaml",
    )
    assert result.code == 0, result.stderr
    repository = read_yaml(project, "clusters/sandbox/repoflags/repo.yaml")
    assert repository["metadata"] == {
        "name": "gitlab-repoflags",
        "namespace": "charts",
        "annotations": {"kasboot.dev/agent": "demo/fleet/repoflags"},  # the ownership record
    }
    assert repository["spec"]["url"] == "https://charts.example.com/gitlab"
    release = read_yaml(project, "clusters/sandbox/repoflags/gitlab-agent-helm-release.yaml")
    assert release["spec"]["chart"]["spec"]["sourceRef"] == {
        "kind": "HelmRepository",
        "name": "gitlab-repoflags",
        "namespace": "charts",
    }


def test_helm_release_flags_values_and_secret_name(sandbox: Any, project: Any) -> None:
    ensure_namespace(sandbox, "releases")
    # helm-controller reads valuesFrom targets in the HelmRelease's namespace: they exist
    # before the bootstrap (pre-flight refuses a missing one).
    for kind in ("Secret", "ConfigMap"):
        name = "extra-values" if kind == "Secret" else "more-values"
        kubectl_apply(
            sandbox,
            {
                "apiVersion": "v1",
                "kind": kind,
                "metadata": {"name": name, "namespace": "releases"},
                ("stringData" if kind == "Secret" else "data"): {"values.yaml": "{}\n"},
            },
        )
    values_a = Path(sandbox.dir) / "a.yaml"
    values_b = Path(sandbox.dir) / "b.yaml"
    values_a.write_text("replicas: 1\nconfig:\n  observability:\n    enabled: false\n")
    values_b.write_text("replicas: 3\n")
    result = run_kasboot(
        sandbox,
        *base_args("relflags"),
        "--helm-release-namespace",
        "releases",
        "--helm-release-filepath",
        "release.yaml",
        "--helm-release-values",
        f"{values_a},{values_b}",
        "--helm-release-values-from",
        "Secret/extra-values",
        "--helm-release-values-from",
        "configmap/more-values",
        "--gitlab-agent-token-secret-name",
        "my-token",
    )
    assert result.code == 0, result.stderr
    release = read_yaml(project, "clusters/sandbox/relflags/release.yaml")
    assert release["metadata"] == {
        "name": "relflags",
        "namespace": "releases",
        "annotations": {"kasboot.dev/agent": "demo/fleet/relflags"},  # the ownership record
    }
    spec = release["spec"]
    assert spec["targetNamespace"] == spec["storageNamespace"] == "relflags"
    assert spec["values"]["replicas"] == 3  # the later file wins
    assert spec["values"]["config"]["observability"] == {"enabled": False}
    assert spec["values"]["config"]["secretName"] == "my-token"  # not glab's hard-coded name
    assert spec["valuesFrom"] == [
        {"kind": "Secret", "name": "extra-values"},
        {"kind": "ConfigMap", "name": "more-values"},
    ]
    secret = kubectl_json(sandbox, "get", "secret", "my-token", "-n", "relflags")
    assert TOKEN_ID_ANNOTATION in secret["metadata"]["annotations"]
    environments = {e.name: e for e in project.environments.list(get_all=True)}
    assert environments["releases/relflags"].flux_resource_path == (
        "helm.toolkit.fluxcd.io/v2/namespaces/releases/helmreleases/relflags"
    )


def test_environment_flags(sandbox: Any, project: Any) -> None:
    result = run_kasboot(
        sandbox,
        *base_args("envflags"),
        "--environment-name",
        "prod/agent",
        "--environment-namespace",
        "apps",
        "--environment-flux-resource-path",
        "helm.toolkit.fluxcd.io/v2/namespaces/flux-system/helmreleases/envflags",
        "--flux-environment-name",
        "prod/flux",
        "--flux-environment-namespace",
        "flux-ns",
        "--flux-environment-flux-resource-path",
        "kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/apps",
    )
    assert result.code == 0, result.stderr
    environments = {e.name: e for e in project.environments.list(get_all=True)}
    assert environments["prod/agent"].kubernetes_namespace == "apps"
    assert environments["prod/flux"].kubernetes_namespace == "flux-ns"
    assert environments["prod/flux"].flux_resource_path.endswith("kustomizations/apps")


def test_create_environment_false_spelling(sandbox: Any, project: Any) -> None:
    before = {e.name for e in project.environments.list(get_all=True)}
    result = run_kasboot(
        sandbox,
        *base_args("noenv"),
        "--create-environment=false",
        "--create-flux-environment=false",
        "--environment-name",
        "never/created",
    )
    assert result.code == 0, result.stderr
    assert {e.name for e in project.environments.list(get_all=True)} == before
    steps = run_kasboot(
        sandbox, *base_args("noenv"), "--create-environment=false", "--output", "json"
    ).json()["steps"]
    results = {step["name"]: step["result"] for step in steps}
    assert results["environment"] == "SKIPPED"


def test_commit_author_flags(sandbox: Any, project: Any) -> None:
    result = run_kasboot(
        sandbox,
        *base_args("authored"),
        "--commit-author-name",
        "Ops Bot",
        "--commit-author-email",
        "ops@example.com",
    )
    assert result.code == 0, result.stderr
    head = project.commits.list(ref_name="main", per_page=1, get_all=False)[0]
    assert (head.author_name, head.author_email) == ("Ops Bot", "ops@example.com")

    api_author = run_kasboot(sandbox, *base_args("apiauthor"), "--use-api-commit-author")
    assert api_author.code == 0, api_author.stderr
    user = gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token)
    user.auth()
    assert user.user is not None
    head = project.commits.list(ref_name="main", per_page=1, get_all=False)[0]
    assert head.author_name == user.user.name

    both = run_kasboot(
        sandbox, *base_args("apiauthor"), "--use-api-commit-author", "--commit-author-name", "x"
    )
    assert both.code == 2
    assert "--use-api-commit-author" in both.stderr


def test_manifest_branch(sandbox: Any, project: Any) -> None:
    project.branches.create({"branch": "staging", "ref": "main"})
    refused = run_kasboot(sandbox, *base_args("branched"), "-b", "staging")
    assert refused.code == 3, refused.stderr  # Flux follows main: nothing would apply it
    assert "staging" in refused.stderr
    result = run_kasboot(sandbox, *base_args("branched"), "-b", "staging", "--skip-preflight")
    assert result.code == 0, result.stderr
    assert read_yaml(project, ".gitlab/agents/branched/config.yaml", ref="staging")
    with pytest.raises(gitlab.exceptions.GitlabGetError):
        project.files.get(".gitlab/agents/branched/config.yaml", ref="main")


def test_flux_source_flags(sandbox: Any) -> None:
    result = run_kasboot(
        sandbox,
        *agent_args("sourced"),  # with reconcile: the source must exist
        "--flux-source-name",
        "nope",
        "--flux-source-namespace",
        "elsewhere",
    )
    assert result.code == 3
    assert "GitRepository elsewhere/nope not found" in result.stderr


def test_repo_flag_wins_over_environment(sandbox: Any) -> None:
    result = run_kasboot(
        sandbox,
        *base_args("repoflag"),
        "-R",
        "no/such-project",
        env={"KASBOOT_PROJECT": sandbox.project},
    )
    assert result.code == 4
    assert "404" in result.stderr


def test_no_reconcile_touches_no_flux_object(sandbox: Any) -> None:
    sandbox.clear_logs()
    result = run_kasboot(sandbox, *base_args("quiet"), "--output", "json")
    assert result.code == 0, result.stderr
    document = result.json()
    assert {s["name"]: s["result"] for s in document["steps"]}["reconcile"] == "SKIPPED"
    writes = kasboot_writes(sandbox.kube_requests())
    assert all("fluxcd.io" not in path for _, path in writes)
    secret = kubectl_json(sandbox, "get", "secret", "gitlab-agent-token", "-n", "quiet")
    token = base64.b64decode(secret["data"]["token"]).decode()
    assert token not in result.stdout + result.stderr


def test_kas_disabled_exits_3_before_any_write(sandbox: Any) -> None:
    def set_kas(enabled: bool) -> None:
        body = json.dumps({"enabled": enabled}).encode()
        request = urllib.request.Request(
            f"{sandbox.gitlab_url}/-/sandbox/kas", data=body, method="PUT"
        )
        request.add_header("Content-Type", "application/json")
        urllib.request.urlopen(request, timeout=10).close()

    set_kas(False)
    try:
        sandbox.clear_logs()
        result = run_kasboot(sandbox, *base_args("nokas"))
        assert result.code == 3, result.stderr
        assert "KAS" in result.stderr
        assert kasboot_writes(sandbox.gitlab_requests()) == []
        assert kasboot_writes(sandbox.kube_requests()) == []
    finally:
        set_kas(True)


def test_read_only_token_is_refused_in_preflight_exit_3(sandbox: Any) -> None:
    body = json.dumps({"username": "root", "name": "ro", "scopes": ["read_api"]}).encode()
    request = urllib.request.Request(
        f"{sandbox.gitlab_url}/-/sandbox/personal_access_tokens", data=body, method="POST"
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        read_only = json.loads(response.read())["token"]
    result = run_kasboot(sandbox, *base_args("readonly"), env={"GITLAB_TOKEN": read_only})
    assert result.code == 3, result.stderr  # before any write, not GitLab's 403 at the first
    assert "scopes are read_api" in result.stderr
    assert "Traceback" not in result.stderr


def planned_release(sandbox: Any, name: str, *extra: str) -> Any:
    """The HelmRelease `kasboot plan` would commit, read from its JSON document."""
    result = run_kasboot(sandbox, "plan", *base_args(name)[1:], "--output", "json", *extra)
    assert result.code == 0, result.stderr
    steps = {step["name"]: step for step in result.json()["steps"]}
    assert steps["manifests"]["result"] == "PLANNED"
    diff = next(
        c["detail"] for c in steps["manifests"]["changes"] if c["target"].endswith("release.yaml")
    )
    added = "\n".join(line[1:] for line in diff.splitlines()[2:] if line.startswith("+"))
    return YAML(typ="safe").load(added)


def test_plan_writes_nothing_and_pins_the_agent_version(sandbox: Any) -> None:
    sandbox.clear_logs()
    release = planned_release(sandbox, "planned")
    assert release["spec"]["values"]["image"] == {"tag": "v18.2.0"}  # from the KAS version
    assert kasboot_writes(sandbox.gitlab_requests()) == []
    assert kasboot_writes(sandbox.kube_requests()) == []
    override = planned_release(sandbox, "planned", "--agent-version", "v17.10.2")
    assert override["spec"]["values"]["image"] == {"tag": "v17.10.2"}
    unpinned = planned_release(sandbox, "planned", "--no-pin-version")
    assert "image" not in unpinned["spec"]["values"]


def test_kas_ca_cert_lands_in_the_values(sandbox: Any) -> None:
    pem = Path(sandbox.dir) / "kas-ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n")
    release = planned_release(sandbox, "cacert", "--kas-ca-cert", str(pem))
    assert release["spec"]["values"]["config"]["kasCaCert"] == pem.read_text()


def test_verbose_shows_requests_without_secrets(sandbox: Any) -> None:
    result = run_kasboot(sandbox, *base_args("chatty"), "-v")
    assert result.code == 0, result.stderr
    assert "GET http://127.0.0.1" in result.stderr
    assert "/api/v4/metadata" in result.stderr
    assert sandbox.token not in result.stderr + result.stdout
    secret = kubectl_json(sandbox, "get", "secret", "gitlab-agent-token", "-n", "chatty")
    token = base64.b64decode(secret["data"]["token"]).decode()
    assert token not in result.stderr + result.stdout


def test_flux_source_type_selects_the_kind(sandbox: Any) -> None:
    result = run_kasboot(sandbox, *agent_args("ocisrc"), "--flux-source-type", "oci")
    assert result.code == 3
    assert "OCIRepository flux-system/flux-system not found" in result.stderr
    invalid = run_kasboot(sandbox, *agent_args("ocisrc"), "--flux-source-type", "svn")
    assert invalid.code == 2
    assert "--flux-source-type" in invalid.stderr


def test_second_agent_with_the_same_names_is_refused(sandbox: Any) -> None:
    same_names = ["--helm-release-name", "twin", "--helm-repository-name", "gitlab-twin"]
    first = run_kasboot(
        sandbox,
        "bootstrap",
        "twin-a",
        "-p",
        "clusters/sandbox/twin-a",
        "--helm-release-target-namespace",
        "twin-a",
        *same_names,
    )
    assert first.code == 0, first.stderr
    sandbox.clear_logs()
    second = run_kasboot(
        sandbox,
        "bootstrap",
        "twin-b",
        "-p",
        "clusters/sandbox/twin-b",
        "--helm-release-target-namespace",
        "twin-b",
        *same_names,
    )
    assert second.code == 3, second.stderr
    assert "already registered id" in second.stderr
    assert "--helm-release-name" in second.stderr
    assert kasboot_writes(sandbox.gitlab_requests()) == []


def test_another_agents_token_secret_is_not_taken_over(sandbox: Any) -> None:
    first = run_kasboot(sandbox, *agent_args("owner-a", "--no-reconcile"))
    assert first.code == 0, first.stderr
    sandbox.clear_logs()
    second = run_kasboot(
        sandbox,
        *agent_args("owner-b", "--no-reconcile"),
        "--helm-release-target-namespace",
        "owner-a",  # the same namespace, so the same Secret gitlab-agent-token
    )
    assert second.code == 3, second.stderr
    assert f"holds the token of agent {sandbox.project}/owner-a" in second.stderr
    assert kasboot_writes(sandbox.gitlab_requests()) == []
    assert kasboot_writes(sandbox.kube_requests()) == []


def test_release_namespace_must_exist_or_be_created_by_flux(sandbox: Any, project: Any) -> None:
    sandbox.clear_logs()
    refused = run_kasboot(sandbox, *base_args("nsless"), "--helm-release-namespace", "nowhere")
    assert refused.code == 3, refused.stderr
    assert "namespace nowhere does not exist" in refused.stderr
    assert kasboot_writes(sandbox.gitlab_requests()) == []
    project.files.create(
        {
            "file_path": "clusters/sandbox/namespaces/somewhere.yaml",
            "branch": "main",
            "content": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: somewhere\n",
            "commit_message": "Add namespace somewhere",
        }
    )
    created_by_flux = run_kasboot(
        sandbox, *base_args("nsless"), "--helm-release-namespace", "somewhere"
    )
    assert created_by_flux.code == 0, created_by_flux.stderr
