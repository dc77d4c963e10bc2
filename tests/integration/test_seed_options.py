"""The seed options end to end: each lands in the committed HelmRelease values, plan
shows it, and the sandbox's chart runtime installs it (HelmRelease Ready) as the real
chart would — or refuses as the real cluster would. The real CLI against the sandbox."""

from __future__ import annotations

import base64
from typing import Any

import gitlab
import pytest
from ruamel.yaml import YAML

from tests.integration.bootstrap_helpers import agent_args, run_kasboot
from tests.integration.test_bootstrap import kubectl_json
from tests.integration.test_bootstrap_flags import ensure_namespace, kubectl_apply

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def project(sandbox: Any) -> Any:
    return gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token).projects.get(
        sandbox.project
    )


def committed_release(project: Any, name: str) -> dict[str, Any]:
    path = f"clusters/sandbox/{name}/gitlab-agent-helm-release.yaml"
    return dict(YAML(typ="safe").load(project.files.get(path, ref="main").decode()))


def ready(sandbox: Any, name: str) -> dict[str, Any]:
    hr = kubectl_json(sandbox, "get", "helmrelease", "-n", "flux-system", name)
    return next(c for c in hr["status"]["conditions"] if c["type"] == "Ready")


def test_proxy_rbac_service_account_and_replicas(sandbox: Any, project: Any) -> None:
    name = "seeded"
    ensure_namespace(sandbox, name)
    kubectl_apply(
        sandbox,
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "agentk", "namespace": name},
        },
    )
    kubectl_apply(
        sandbox,
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "gitlab-agent-least"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
        },
    )
    options = [
        "--https-proxy", "http://proxy.example.com:3128",
        "--no-proxy", "10.0.0.0/8,.cluster.local",
        "--service-account-name", "agentk",
        "--no-create-service-account",
        "--rbac-role", "gitlab-agent-least",
        "--replicas", "1",
    ]  # fmt: skip
    args = agent_args(name, *options)
    planned = run_kasboot(sandbox, "plan", *args[1:])
    assert planned.code == 0, planned.stderr
    for shown in (
        "HTTPS_PROXY=http://proxy.example.com:3128",
        "rbac: ClusterRole gitlab-agent-least",
        "serviceAccount agentk (existing)",
        "replicas 1",
        "useExistingRole: gitlab-agent-least",  # the HelmRelease diff
    ):
        assert shown in planned.stdout + planned.stderr, planned.stderr
    assert "cluster-admin" not in planned.stderr

    result = run_kasboot(sandbox, *args)
    assert result.code == 0, result.stderr
    values = committed_release(project, name)["spec"]["values"]
    assert values["extraEnv"] == [
        {"name": "HTTPS_PROXY", "value": "http://proxy.example.com:3128"},
        {"name": "NO_PROXY", "value": "10.0.0.0/8,.cluster.local"},
    ]
    assert values["serviceAccount"] == {"create": False, "name": "agentk"}
    assert values["rbac"] == {"useExistingRole": "gitlab-agent-least"}
    assert values["replicas"] == 1
    assert ready(sandbox, name)["status"] == "True"
    deployment = kubectl_json(sandbox, "get", "deployment", "-n", name, f"{name}-gitlab-agent-v2")
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 1 and pod["serviceAccountName"] == "agentk"
    assert pod["containers"][0]["env"][0] == values["extraEnv"][0]
    binding = kubectl_json(
        sandbox, "get", "clusterrolebinding", f"{name}:{name}-gitlab-agent-gitlab-agent-least"
    )
    assert binding["roleRef"]["name"] == "gitlab-agent-least"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "agentk", "namespace": name}]


def test_the_default_warns_that_it_binds_cluster_admin(sandbox: Any) -> None:
    planned = run_kasboot(sandbox, "plan", *agent_args("defaultrbac")[1:])
    assert planned.code == 0, planned.stderr
    assert "binds the agent's ServiceAccount to cluster-admin" in planned.stderr


def test_a_missing_service_account_or_role_is_refused_before_any_write(sandbox: Any) -> None:
    ensure_namespace(sandbox, "nosa")
    no_account = run_kasboot(
        sandbox,
        *agent_args("nosa", "--service-account-name", "absent", "--no-create-service-account"),
    )
    assert no_account.code == 3, no_account.stderr
    assert "ServiceAccount nosa/absent does not exist" in no_account.stderr
    no_role = run_kasboot(sandbox, *agent_args("norole", "--rbac-role", "absent-role"))
    assert no_role.code == 3, no_role.stderr
    assert "ClusterRole absent-role does not exist" in no_role.stderr


def test_proxy_credentials_stay_out_of_git(sandbox: Any, project: Any) -> None:
    secret_url = "http://agent:pr0xy-s3cret@proxy.example.com:3128"
    as_flag = run_kasboot(sandbox, *agent_args("proxycred", "--https-proxy", secret_url))
    assert as_flag.code == 2
    assert "holds credentials" in as_flag.stderr and "pr0xy-s3cret" not in as_flag.stderr
    result = run_kasboot(sandbox, *agent_args("proxycred"), env={"KASBOOT_HTTPS_PROXY": secret_url})
    assert result.code == 0, result.stderr
    assert "pr0xy-s3cret" not in result.stdout + result.stderr
    release = committed_release(project, "proxycred")
    assert "pr0xy-s3cret" not in str(release)
    assert release["spec"]["values"]["extraEnv"] == [
        {
            "name": "HTTPS_PROXY",
            "valueFrom": {
                "secretKeyRef": {"name": "gitlab-agent-token-proxy", "key": "HTTPS_PROXY"}
            },
        }
    ]
    secret = kubectl_json(sandbox, "get", "secret", "-n", "proxycred", "gitlab-agent-token-proxy")
    assert base64.b64decode(secret["data"]["HTTPS_PROXY"]).decode() == secret_url
    assert ready(sandbox, "proxycred")["status"] == "True"
    again = run_kasboot(sandbox, *agent_args("proxycred"), env={"KASBOOT_HTTPS_PROXY": secret_url})
    assert again.code == 0, again.stderr
    assert "Storing proxy credentials in a Kubernetes Secret … UNCHANGED" in again.stderr


def test_no_proxy_never_bypasses_the_proxy_for_kas(sandbox: Any) -> None:
    result = run_kasboot(
        sandbox, *agent_args("bypass", "--https-proxy", "http://p:3128", "--no-proxy", "127.0.0.1")
    )
    assert result.code == 3, result.stderr
    assert "matches the KAS host 127.0.0.1" in result.stderr
