"""source-controller's checkout of a GitRepository: which commit `spec.ref` selects and
how the revision names it (fluxcd/pkg gogit Client.clone, git.Commit.String,
source-controller commitReference), what reaches the artifact (symlinks and submodules
never do: fluxcd/pkg artifact/storage Archive keeps regular files and directories only),
and `spec.sparseCheckout` (go-git Index.SkipUnless, validateSparseCheckoutPaths)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from kasboot.sandbox.flux import FluxSimulator
from kasboot.sandbox.flux.gitrefs import GitTarget, RefResolutionError, resolve_reference

from .conftest import Flux, GitRepo, configmap, wait_for

SHA = re.compile(r"[0-9a-f]{40}")


def _source(fluxapi: Flux, name: str, url: str, **spec: Any) -> dict[str, Any]:
    fluxapi.create("GitRepository", name, {"interval": "1m0s", "url": url, **spec})
    return dict(wait_for(lambda: fluxapi.ready("GitRepository", name), f"{name} verdict"))


def _revision(fluxapi: Flux, name: str) -> str:
    return str(fluxapi.get("GitRepository", name)["status"]["artifact"]["revision"])


def _files(flux: FluxSimulator, fluxapi: Flux, name: str) -> set[str]:
    artifact = fluxapi.get("GitRepository", name)["status"]["artifact"]
    root = flux.storage.locate(artifact)
    assert root is not None
    return {
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()
    }


def test_no_ref_follows_master_not_the_default_branch(fluxapi: Flux, repo: GitRepo) -> None:
    repo.commit({"a.yaml": configmap("a")})
    ready = _source(fluxapi, "noref", repo.url)
    assert (ready["status"], ready["reason"]) == ("False", "GitOperationFailed")
    assert ready["message"].endswith('couldn\'t find remote ref "refs/heads/master"')


def test_ref_name_of_a_branch_keeps_the_full_name(fluxapi: Flux, repo: GitRepo) -> None:
    sha = repo.commit({"a.yaml": configmap("a")})
    ready = _source(fluxapi, "byname", repo.url, ref={"name": "refs/heads/main"})
    assert ready["status"] == "True", ready
    assert _revision(fluxapi, "byname") == f"refs/heads/main@sha1:{sha}"


def test_tag_and_commit_refs_stay_where_they_point(fluxapi: Flux, repo: GitRepo) -> None:
    first = repo.commit({"a.yaml": configmap("a")})
    repo._git("tag", "-a", "v1.2.0", "-m", "release")
    repo._git("push", "-q", "origin", "v1.2.0")
    repo.commit({"b.yaml": configmap("b")})
    _source(fluxapi, "bytag", repo.url, ref={"tag": "v1.2.0"})
    assert _revision(fluxapi, "bytag") == f"v1.2.0@sha1:{first}"
    _source(fluxapi, "bysemver", repo.url, ref={"semver": ">=1.0.0 <2.0.0"})
    assert _revision(fluxapi, "bysemver") == f"v1.2.0@sha1:{first}"
    _source(fluxapi, "bycommit", repo.url, ref={"commit": first})
    assert _revision(fluxapi, "bycommit") == f"sha1:{first}"
    assert _revision(fluxapi, "bycommit") == f"sha1:{first}"


def test_resolution_precedence_and_failures() -> None:
    refs = {"refs/heads/main": "1" * 40, "refs/heads/master": "2" * 40, "refs/tags/v1": "3" * 40}
    both = resolve_reference({"branch": "main", "tag": "v1"}, refs)
    assert both == GitTarget("refs/tags/v1", "3" * 40)
    assert resolve_reference(None, refs).revision == f"master@sha1:{'2' * 40}"
    assert resolve_reference({"branch": ""}, refs).branch == "master"
    with pytest.raises(RefResolutionError, match=re.escape("no match found for semver: >=2.0.0")):
        resolve_reference({"semver": ">=2.0.0"}, refs)
    with pytest.raises(RefResolutionError, match="unable to resolve ref 'refs/pull/1/head'"):
        resolve_reference({"name": "refs/pull/1/head"}, refs)


def test_symlinks_and_submodules_never_reach_the_artifact(
    fluxapi: Flux, repo: GitRepo, flux: FluxSimulator
) -> None:
    repo.commit({"shared/web.yaml": configmap("web"), "apps/own.yaml": configmap("own")})
    os.symlink("../shared/web.yaml", repo.work / "apps" / "web.yaml")
    os.symlink("../shared", repo.work / "apps" / "linked")
    sha = repo._git("rev-parse", "HEAD")
    repo._git("update-index", "--add", "--cacheinfo", f"160000,{sha},vendor/lib")
    repo.commit({})
    assert _source(fluxapi, "links", repo.url, ref={"branch": "main"})["status"] == "True"
    assert _files(flux, fluxapi, "links") == {"shared/web.yaml", "apps/own.yaml"}


def test_sparse_checkout_keeps_only_those_directories(
    fluxapi: Flux, repo: GitRepo, flux: FluxSimulator
) -> None:
    repo.commit(
        {
            "clusters/prod/a.yaml": configmap("a"),
            "clusters/prod-old/b.yaml": configmap("b"),
            ".gitlab/agents/x/config.yaml": "user_access: {}\n",
            "README.md": "# fleet\n",
        }
    )
    ready = _source(
        fluxapi, "sparse", repo.url, ref={"branch": "main"}, sparseCheckout=["./clusters/prod"]
    )
    assert ready["status"] == "True", ready
    # a plain string prefix, as go-git's SkipUnless: "clusters/prod" takes "clusters/prod-old"
    assert _files(flux, fluxapi, "sparse") == {"clusters/prod/a.yaml", "clusters/prod-old/b.yaml"}

    missing = _source(
        fluxapi, "sparsemissing", repo.url, ref={"branch": "main"}, sparseCheckout=["infra"]
    )
    assert (missing["status"], missing["reason"]) == ("False", "GitOperationFailed")
    assert missing["message"].startswith(
        "failed to sparse checkout directories : sparse checkout dir 'infra' does not exist "
        "in repository: lstat "
    )
    assert missing["message"].endswith("/infra: no such file or directory")


def test_checkout_helper_writes_symlinks_as_links(tmp_path: Path, repo: GitRepo) -> None:
    from kasboot.sandbox.flux.gitfetch import checkout, fetch_target

    repo.commit({"apps/own.yaml": configmap("own")})
    os.symlink("own.yaml", repo.work / "apps" / "alias.yaml")
    sha = repo.commit({})
    target = fetch_target(repo.url, {"branch": "main"}, None, None)
    assert target.sha == sha and SHA.fullmatch(target.sha)
    destination = tmp_path / "sparse"
    checkout(repo.url, target, destination, None, None, sparse=["apps"])
    assert (destination / "apps" / "alias.yaml").is_symlink()
