"""source-controller rules: ignore rules on real artifacts, git smart HTTP with
credentials (and its failures), OCIRepository resolved to a GitLab project."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kasboot.sandbox.flux import FluxSimulator
from kasboot.sandbox.flux.ignore import SourceIgnore
from kasboot.sandbox.gitlab import GitLabEmulator

from .conftest import Flux, GitRepo, configmap, wait_for


@pytest.fixture(scope="module")
def gitlab_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    emulator = GitLabEmulator(tmp_path_factory.mktemp("gitlab")).start()
    backend = emulator.backend
    backend.ensure_user("root", "Administrator", "admin@example.com")
    token = backend.create_personal_access_token("root", "flux", ["api"])
    backend.ensure_project("demo/fleet", owner="root")
    yield {"emulator": emulator, "url": emulator.url, "token": token}
    emulator.stop()


def _artifact_files(flux: FluxSimulator, fluxapi: Flux, name: str) -> set[str]:
    artifact = fluxapi.get("GitRepository", name)["status"]["artifact"]
    root = flux.storage.locate(artifact)
    assert root is not None
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _git_source(fluxapi: Flux, name: str, url: str, **spec: Any) -> dict[str, Any]:
    fluxapi.create(
        "GitRepository", name, {"interval": "1m0s", "url": url, "ref": {"branch": "main"}, **spec}
    )
    return dict(wait_for(lambda: fluxapi.ready("GitRepository", name), f"{name} verdict"))


FILES = {
    ".gitlab/agents/x/config.yaml": "user_access: {}\n",
    ".github/workflows/ci.yml": "on: push\n",
    ".gitlab-ci.yml": "test: {script: [true]}\n",
    "logo.png": "png",
    "app/.sops.yaml": "creation_rules: []\n",
    "app/a.yaml": "kind: ConfigMap\n",
    "app/secret.yaml": "kind: Secret\n",
}


def test_default_exclusions_keep_gitlab_dir(
    fluxapi: Flux, repo: GitRepo, flux: FluxSimulator
) -> None:
    repo.commit(FILES)
    assert _git_source(fluxapi, "defaults", repo.url)["status"] == "True"
    assert _artifact_files(flux, fluxapi, "defaults") == {
        ".gitlab/agents/x/config.yaml",
        "app/a.yaml",
        "app/secret.yaml",
    }


def test_sourceignore_anywhere_drops_the_defaults(
    fluxapi: Flux, repo: GitRepo, flux: FluxSimulator
) -> None:
    repo.commit(
        {
            **FILES,
            ".sourceignore": "# keep agents out\n.gitlab/\n",
            "app/.sourceignore": "secret.yaml\n",
        }
    )
    _git_source(fluxapi, "sourceignore", repo.url)
    files = _artifact_files(flux, fluxapi, "sourceignore")
    assert not any(f.startswith(".gitlab/") for f in files)
    assert "app/secret.yaml" not in files
    # defaults gone: CI files and images are back in, VCS rules stay
    assert {".github/workflows/ci.yml", ".gitlab-ci.yml", "logo.png", "app/.sops.yaml"} <= files
    assert not any(f.startswith(".git/") for f in files)


def test_spec_ignore_keeps_the_root_path_buildable(
    fluxapi: Flux, repo: GitRepo, flux: FluxSimulator
) -> None:
    repo.commit(
        {
            ".gitlab/agents/x/config.yaml": "user_access: {}\n",
            "app/cm.yaml": configmap("from-root", fluxapi.namespace),
        }
    )
    _git_source(fluxapi, "ignored", repo.url, ignore="/.gitlab/\n")
    assert fluxapi.get("GitRepository", "ignored")["status"]["observedIgnore"] == "/.gitlab/\n"
    fluxapi.create(
        "Kustomization",
        "root",
        {
            "interval": "10m0s",
            "path": "./",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "ignored"},
        },
    )
    ready = wait_for(lambda: fluxapi.ready("Kustomization", "root"), "verdict")
    assert ready["status"] == "True", ready


def test_ignore_rules_unit(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".sourceignore").write_text("*.txt\n!keep.txt\n")
    for name in ("a.txt", "sub/b.txt", "sub/keep.txt", "sub/c.yaml", "x.zip"):
        (tmp_path / name).write_text("x")
    rules = SourceIgnore(tmp_path)
    assert rules.included_files(tmp_path) == [
        "a.txt",
        "sub/.sourceignore",
        "sub/c.yaml",
        "sub/keep.txt",
        "x.zip",
    ]


def test_gitlab_over_smart_http_with_credentials(
    fluxapi: Flux, gitlab_world: dict[str, Any]
) -> None:
    url = f"{gitlab_world['url']}/demo/fleet.git"
    fluxapi.secret("good", {"username": "git", "password": gitlab_world["token"]})
    fluxapi.secret("bad", {"username": "git", "password": "glpat-wrong"})
    gitlab_world["emulator"].request_log.clear()
    ready = _git_source(fluxapi, "ok", url, secretRef={"name": "good"})
    assert ready["status"] == "True"
    fetches = gitlab_world["emulator"].request_log.records()
    assert fetches and all(r.user_agent.startswith("source-controller/") for r in fetches)
    assert re.fullmatch(r"stored artifact for revision 'main@sha1:[0-9a-f]{40}'", ready["message"])

    denied = _git_source(fluxapi, "denied", url, secretRef={"name": "bad"})
    assert (denied["status"], denied["reason"]) == ("False", "GitOperationFailed")
    assert denied["message"] == (
        f"failed to checkout and determine revision: unable to clone '{url}': "
        "authentication required"
    )
    missing = _git_source(fluxapi, "nosecret", url, secretRef={"name": "absent"})
    assert missing["reason"] == "AuthenticationFailed"
    assert missing["message"] == (
        f"failed to get secret '{fluxapi.namespace}/absent': secrets \"absent\" not found"
    )
    fluxapi.create(
        "GitRepository",
        "nobranch",
        {"interval": "1m0s", "url": url, "ref": {"branch": "nope"}, "secretRef": {"name": "good"}},
    )
    branch = wait_for(lambda: fluxapi.ready("GitRepository", "nobranch"), "verdict")
    assert branch["message"].endswith('couldn\'t find remote ref "refs/heads/nope"')
    assert "observedGeneration" not in fluxapi.get("GitRepository", "nobranch")["status"]


def test_oci_repository_resolves_to_the_projects_default_branch(
    fluxapi: Flux, gitlab_world: dict[str, Any]
) -> None:
    port = gitlab_world["url"].rsplit(":", 1)[1]
    fluxapi.secret("oci", {"username": "root", "password": gitlab_world["token"]})
    fluxapi.create(
        "OCIRepository",
        "fleet",
        {
            "interval": "1m0s",
            "url": f"oci://127.0.0.1:{port}/demo/fleet",
            "ref": {"tag": "latest"},
            "secretRef": {"name": "oci"},
        },
    )
    ready = wait_for(lambda: fluxapi.ready("OCIRepository", "fleet"), "verdict")
    assert ready["status"] == "True", ready
    revision = fluxapi.get("OCIRepository", "fleet")["status"]["artifact"]["revision"]
    assert re.fullmatch(r"latest@sha256:[0-9a-f]{64}", revision)
    assert ready["message"] == f"stored artifact for digest '{revision}'"
