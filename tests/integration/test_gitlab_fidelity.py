"""GitLab as it really is (KAS version strings, protected branches, retried writes …):
bootstraps against a sandbox whose GitLab behaves that way, through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gitlab
import pytest
from ruamel.yaml import YAML

from kasboot.doctor.versions import is_valid_image_tag
from tests.integration.bootstrap_helpers import agent_args, kasboot_writes, run_kasboot
from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up

pytestmark = pytest.mark.sandbox
KUBECTL = str(Path(sys.executable).parent / "kubectl")
SHA = "6a0281c68969d9ce8f36fdaf242b4f6e0503d940"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp("fidelity")
    sandbox = sandbox_up(directory)
    try:
        yield sandbox
    finally:
        sandbox_down(directory)


@pytest.fixture(scope="module")
def gl(world: Sandbox) -> gitlab.Gitlab:
    return gitlab.Gitlab(world.gitlab_url, private_token=world.token)


def control(sandbox: Sandbox, method: str, name: str, body: Any) -> Any:
    request = urllib.request.Request(
        f"{sandbox.gitlab_url}/-/sandbox/{name}", data=json.dumps(body).encode(), method=method
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def kubectl_json(sandbox: Sandbox, *args: str) -> dict[str, Any]:
    completed = subprocess.run(
        [KUBECTL, "--kubeconfig", str(sandbox.kubeconfig), *args, "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(completed.stdout))


def committed_release(gl: gitlab.Gitlab, sandbox: Sandbox, name: str) -> Any:
    project = gl.projects.get(sandbox.project)
    path = f"clusters/sandbox/{name}/gitlab-agent-helm-release.yaml"
    raw = project.files.raw(file_path=path, ref="main")
    return YAML(typ="safe").load(raw)


def step_summaries(result: Any) -> dict[str, str]:
    return {step["name"]: step.get("summary") or "" for step in result.json()["steps"]}


@pytest.mark.parametrize(
    ("name", "kas_version"),
    [("kas-commit", f"17.4.0-rc1+{SHA}"), ("kas-null", None)],
)
def test_kas_version_with_a_suffix_or_null_leaves_the_chart_default(
    world: Sandbox, gl: gitlab.Gitlab, name: str, kas_version: str | None
) -> None:
    control(world, "PUT", "kas", {"enabled": True, "version": kas_version})
    try:
        assert gl.http_get("/metadata")["kas"]["version"] == kas_version
        result = run_kasboot(world, *agent_args(name), "--output", "json")
        assert result.code == 0, result.stderr
        release = committed_release(gl, world, name)
        tag = (release["spec"]["values"].get("image") or {}).get("tag")
        assert tag is None or is_valid_image_tag(tag)
        assert tag is None  # no release tag to derive: the chart's default
        assert "chart default" in step_summaries(result)["manifests"]
        helm_release = kubectl_json(world, "get", "helmrelease", name, "-n", "flux-system")
        ready = next(c for c in helm_release["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "True"
    finally:
        control(world, "PUT", "kas", {"enabled": True, "version": "18.2.0"})


def test_clean_kas_version_pins_the_minor_like_gitlab_does(
    world: Sandbox, gl: gitlab.Gitlab
) -> None:
    control(world, "PUT", "kas", {"enabled": True, "version": "18.2.3"})
    try:
        result = run_kasboot(world, *agent_args("kas-clean"), "--output", "json")
        assert result.code == 0, result.stderr
        release = committed_release(gl, world, "kas-clean")
        assert release["spec"]["values"]["image"] == {"tag": "v18.2.0"}
        assert "v18.2.0" in step_summaries(result)["manifests"]
    finally:
        control(world, "PUT", "kas", {"enabled": True, "version": "18.2.0"})


def test_a_branch_the_token_cannot_push_to_is_refused_before_any_write(
    world: Sandbox, gl: gitlab.Gitlab
) -> None:
    project = gl.projects.get(world.project)
    project.branches.create({"branch": "locked", "ref": "main"})
    project.protectedbranches.create({"name": "locked", "push_access_level": 0})
    assert project.branches.get("locked").can_push is False
    world.clear_logs()
    result = run_kasboot(world, *agent_args("locked-out"), "-b", "locked")
    assert result.code == 3, result.stderr
    assert "may not push to branch 'locked'" in result.stderr
    assert "--manifest-branch" in result.stderr
    assert kasboot_writes(world.gitlab_requests()) == []
    assert kasboot_writes(world.kube_requests()) == []
    assert not [a for a in project.cluster_agents.list(get_all=True) if a.name == "locked-out"]


def test_api_commit_author_lets_gitlab_choose_the_commit_email(
    world: Sandbox, gl: gitlab.Gitlab
) -> None:
    chosen = "1-root@users.noreply.gitlab.example.com"
    control(world, "PUT", "users/root", {"commit_email": chosen})
    try:
        result = run_kasboot(
            world, *agent_args("authored"), "--use-api-commit-author", "--output", "json"
        )
        assert result.code == 0, result.stderr
        project = gl.projects.get(world.project)
        head = project.commits.get("main")
        assert head.title == "Bootstrap GitLab agent authored"
        assert head.author_email == chosen  # not the private primary email
    finally:
        control(world, "PUT", "users/root", {"commit_email": None})


WRITE_POSTS = [
    r"/cluster_agents$",
    r"/cluster_agents/\d+/tokens$",
    r"/environments$",
    r"/repository/commits$",
]


def fault_rules(mode: str) -> list[dict[str, Any]]:
    rule: dict[str, Any] = {"method": "POST", "mode": mode, "times": 1}
    if mode == "applied_status":
        rule["status"] = 502
    if mode == "applied_timeout":
        rule["hold_ms"] = 4000
    return [{**rule, "path": path} for path in WRITE_POSTS]


@pytest.mark.parametrize("mode", ["applied_status", "applied_drop", "applied_timeout"])
def test_every_post_applied_but_its_answer_lost(
    world: Sandbox, gl: gitlab.Gitlab, mode: str
) -> None:
    """GitLab acts on each POST, then the answer is lost (a 502 from a proxy, a dropped
    connection, a timeout). The run re-reads instead of repeating blindly."""
    from kasboot.cluster import TOKEN_ID_ANNOTATION

    name = f"lost-{mode.split('_')[1]}"
    rules = control(world, "PUT", "faults", {"rules": fault_rules(mode)})["rules"]
    try:
        result = run_kasboot(
            world,
            *agent_args(name),
            "--flux-environment-name",
            f"flux/{name}",
            "--output",
            "json",
            env={"KASBOOT_GITLAB_TIMEOUT": "1.5"},
            timeout=240,
        )
        hits = [rule["hits"] for rule in control(world, "GET", "faults", None)["rules"]]
    finally:
        request = urllib.request.Request(f"{world.gitlab_url}/-/sandbox/faults", method="DELETE")
        urllib.request.urlopen(request, timeout=10).close()
    assert len(rules) == 4 and all(hits), hits  # every POST was faulted once
    assert result.code == 0, result.stderr
    project = gl.projects.get(world.project)
    agents = [a for a in project.cluster_agents.list(get_all=True) if a.name == name]
    assert len(agents) == 1
    for environment in (f"flux-system/{name}", f"flux/{name}"):
        assert len(project.environments.list(name=environment, get_all=True)) == 1
    path = f"/projects/{project.id}/cluster_agents/{agents[0].id}/tokens"
    active = {int(t["id"]) for t in gl.http_list(path, get_all=True) if t["status"] == "active"}
    assert 1 <= len(active) <= 2
    secret = kubectl_json(world, "get", "secret", "gitlab-agent-token", "-n", name)
    assert int(secret["metadata"]["annotations"][TOKEN_ID_ANNOTATION]) in active
    titles = [c.title for c in project.commits.list(ref_name="main", get_all=True)]
    assert titles.count(f"Bootstrap GitLab agent {name}") == 1


def test_two_identical_bootstraps_at_once_both_succeed(world: Sandbox, gl: gitlab.Gitlab) -> None:
    """The loser of each create race re-reads and carries on: GitLab's ("has already been
    taken", "A file with this name already exists") and the cluster's (the namespace
    AlreadyExists; the token Lease held by the other run, waited for, after which the
    Secret holds the other run's active token, which is kept). Both exit 0, through
    reconcile; one agent, one environment, one commit, an active token in the Secret."""
    import os

    from kasboot.cluster import TOKEN_ID_ANNOTATION

    args = [sys.executable, "-m", "kasboot", *agent_args("twin"), "-o", "json"]
    environ = {**os.environ, **world.env}
    environ.pop("CI_JOB_TOKEN", None)
    runs = [
        subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environ,
            cwd=world.dir,
            stdin=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    outcomes = [(run.communicate(timeout=240)[0], run.returncode) for run in runs]
    documents = [json.loads(out) for out, _ in outcomes]
    for (_, code), document in zip(outcomes, documents, strict=True):
        assert all(step["result"] != "FAILED" for step in document["steps"]), document
        assert code == 0 and not document.get("error"), document
    project = gl.projects.get(world.project)
    agents = [a for a in project.cluster_agents.list(get_all=True) if a.name == "twin"]
    assert len(agents) == 1
    assert len(project.environments.list(name="flux-system/twin", get_all=True)) == 1
    path = f"/projects/{project.id}/cluster_agents/{agents[0].id}/tokens"
    active = {int(t["id"]) for t in gl.http_list(path, get_all=True) if t["status"] == "active"}
    assert 1 <= len(active) <= 2
    secret = kubectl_json(world, "get", "secret", "gitlab-agent-token", "-n", "twin")
    assert int(secret["metadata"]["annotations"][TOKEN_ID_ANNOTATION]) in active
    titles = [c.title for c in project.commits.list(ref_name="main", get_all=True)]
    assert titles.count("Bootstrap GitLab agent twin") == 1
