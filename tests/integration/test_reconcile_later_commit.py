"""Another commit lands on the branch after kasboot's and before Flux fetches (the next
cluster of a fleet committing to the same branch, a colleague's push): source-controller
names its artifact after the branch's HEAD, so Flux never reports kasboot's own commit,
only a later one that contains it. The wait must accept that revision — once GitLab's
merge base said it holds kasboot's commit, with one question for the source and the
Kustomization together — and still refuse a revision that does not contain it.

Deterministic: kasboot's reconcile request on the GitRepository is held by the
Kubernetes emulator until the test has made its own commit on the branch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from typing import Any

import gitlab
import pytest

from kasboot.gitlab_api import CommitAction
from tests.integration.bootstrap_helpers import agent_args, seeded
from tests.integration.conftest import Sandbox

pytestmark = pytest.mark.sandbox

SOURCE = "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system"


def _put_faults(sandbox: Sandbox, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{sandbox.kube_url}/-/sandbox/faults", data=json.dumps(body).encode(), method="PUT"
    )
    urllib.request.urlopen(request, timeout=10).close()


def _get(sandbox: Sandbox, path: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{sandbox.kube_url}{path}", headers={"Authorization": "Bearer sandbox"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


def _kasboot_commits(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [
        r
        for r in sandbox.gitlab_requests()
        if r["method"] == "POST"
        and r["path"].endswith("/repository/commits")
        and r.get("user_agent", "").startswith("kasboot/")
        and r["status"] == 201
    ]


def _bootstrap_with_a_commit_on_top(sandbox: Sandbox, name: str) -> tuple[int, str, str]:
    """Bootstrap ``name`` while its GitRepository request is held; commit on the branch
    as soon as kasboot has committed, then let the request through. (exit code, stderr,
    the test's commit)."""
    sandbox.clear_logs()
    _put_faults(
        sandbox,
        {
            "rules": [
                {
                    "method": "PATCH",
                    "path": f"{SOURCE}$",
                    "user_agent": "^kasboot/",
                    "latency_ms": 300_000,
                    "times": 1,
                }
            ]
        },
    )
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "kasboot", *agent_args(name)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **sandbox.env},
            cwd=sandbox.dir,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 240
        while not _kasboot_commits(sandbox):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "kasboot never committed"
            time.sleep(0.2)
        project = gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token).projects.get(
            sandbox.project
        )
        later = project.commits.create(
            {
                "branch": "main",
                "commit_message": f"a colleague's commit after {name}'s",
                "actions": [
                    {"action": "create", "file_path": f"notes/{name}.txt", "content": "x\n"}
                ],
            }
        ).id
    finally:  # no rule left, and the held request (if it came) goes on now
        _put_faults(sandbox, {"rules": [], "release": True})
    _, stderr = process.communicate(timeout=240)
    return process.returncode, stderr, str(later)


def test_a_later_commit_that_contains_kasboots_counts_as_reached(sandbox: Sandbox) -> None:
    code, stderr, later = _bootstrap_with_a_commit_on_top(sandbox, "later-commit-agent")
    assert code == 0, stderr
    # Flux never reported kasboot's commit: its artifact is the later one
    assert _get(sandbox, SOURCE)["status"]["artifact"]["revision"] == f"main@sha1:{later}"
    kustomization = _get(
        sandbox,
        "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/flux-system",
    )
    assert kustomization["status"]["lastAppliedRevision"] == f"main@sha1:{later}"
    # one merge-base question answers the source and the Kustomization
    asked = [
        r
        for r in sandbox.gitlab_requests()
        if r["path"].endswith("/repository/merge_base")
        and r.get("user_agent", "").startswith("kasboot/")
    ]
    assert [(r["method"], r["status"]) for r in asked] == [("GET", 200)]


def test_the_seam_asks_gitlab_once_per_pair_of_commits(tmp_path: Any) -> None:
    """GitLabAPI.commit_contains: GitLab's merge base decides; each pair is asked once;
    an unknown commit (400) or unrelated history (404) is no."""
    from kasboot.gitlab_api import GitLabAPI
    from kasboot.sandbox.gitlab import GitLabEmulator

    emulator = GitLabEmulator(tmp_path).start()
    try:
        token = seeded(emulator, "group/fleet")
        sent: list[str] = []
        api = GitLabAPI(
            emulator.url, token, request_logger=lambda method, url, *_: sent.append(url)
        )

        def commit(name: str) -> str:
            return api.commit(
                "group/fleet",
                branch="main",
                message=name,
                actions=[CommitAction(action="create", path=name, content=name)],
                author_name=None,
                author_email=None,
            )

        ours, later = commit("ours"), commit("later")
        sent.clear()
        assert api.commit_contains("group/fleet", later, ours) is True
        assert api.commit_contains("group/fleet", later, ours) is True  # kept
        assert api.commit_contains("group/fleet", ours, later) is False  # older: no
        assert api.commit_contains("group/fleet", "f" * 40, ours) is False  # unknown: 400
        assert api.commit_contains("group/fleet", ours, ours) is True  # itself: no request
        assert [u for u in sent if "merge_base" in u] == [u for u in sent]
        assert len(sent) == 3
    finally:
        emulator.stop()
