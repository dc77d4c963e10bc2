"""e2e/kind-flux.sh with stub `kind`, `flux`, `docker` and `curl` on PATH, each recording
its argv: the order of what it runs, the flags flux gets, the exports it prints, and
what --down removes. (The real tools need docker and a network; the stubs prove the
script's sequence and that the token never lands in argv or a file.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("kind-flux.sh")
TOKEN = "glpat-e2e-stub-token-000"
FLUX_NAME = "flux-system-main-flux-system-clusters/kasboot-e2e"

STUB = """#!/usr/bin/env bash
printf '%s\\t%s\\n' "$(basename "$0")" "$*" >>"$STUB_LOG"
"""
KIND = (
    STUB
    + """
case "$1 $2" in
  "get clusters") [[ -f "$STUB_DIR/cluster" ]] && echo kasboot-e2e; exit 0 ;;
  "create cluster")
    while [[ $# -gt 0 ]]; do
      if [[ "$1" == --kubeconfig ]]; then
        printf 'clusters:\\n- cluster:\\n    server: https://0.0.0.0:41234\\n' >"$2"
      fi
      shift
    done
    touch "$STUB_DIR/cluster" ;;
  "delete cluster") rm -f "$STUB_DIR/cluster" ;;
esac
"""
)
CURL = (
    STUB
    + """
for arg in "$@"; do
  case "$arg" in
    @*) cat "${arg#@}" >>"$STUB_DIR/curl-headers" ;;
  esac
done
url="${!#}"
case "$*" in
  *"--request GET"*deploy_tokens*) cat "$STUB_DIR/deploy_tokens.json" ;;
  *"--request GET"*deploy_keys*) cat "$STUB_DIR/deploy_keys.json" ;;
esac
"""
)


@pytest.fixture
def stubs(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in {"kind": KIND, "flux": STUB, "docker": STUB, "curl": CURL}.items():
        path = bin_dir / name
        path.write_text(body)
        path.chmod(0o755)
    for name in ("bash", "python3", "sed", "mv", "rm", "mkdir", "chmod", "mktemp", "grep",
                 "cat", "basename", "touch"):  # fmt: skip
        found = sys.executable if name == "python3" else shutil.which(name)
        assert found, name
        wrapper = bin_dir / name  # a wrapper, not a link: a venv's python needs its path
        wrapper.write_text(f'#!/bin/sh\nexec "{found}" "$@"\n')
        wrapper.chmod(0o755)
    (tmp_path / "deploy_tokens.json").write_text(
        json.dumps([{"id": 7, "name": FLUX_NAME}, {"id": 8, "name": "someone-else"}])
    )
    (tmp_path / "deploy_keys.json").write_text(
        json.dumps([{"id": 9, "title": "flux-system-main-flux-system-./clusters/kasboot-e2e"}])
    )
    return {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path),
        "STUB_LOG": str(tmp_path / "argv.log"),
        "STUB_DIR": str(tmp_path),
        "GITLAB_TOKEN": TOKEN,
        "KASBOOT_E2E_PROJECT": "group/sub/kasboot-scratch",
        "KASBOOT_E2E_GITLAB_HOST": "https://gitlab.example.com/",
        "KASBOOT_E2E_STATE": str(tmp_path / "state"),
    }


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def calls(env: dict[str, str]) -> list[tuple[str, str]]:
    log = Path(env["STUB_LOG"])
    lines = log.read_text().splitlines() if log.exists() else []
    return [(line.split("\t")[0], line.split("\t", 1)[1]) for line in lines]


def test_up_creates_the_cluster_then_bootstraps_flux_and_prints_the_exports(
    stubs: dict[str, str],
) -> None:
    done = run(stubs)
    assert done.returncode == 0, done.stderr
    made = calls(stubs)
    tools = [tool for tool, _ in made if tool != "kind" or "get clusters" not in _]
    assert tools == ["kind", "flux", "flux"]
    create = next(args for tool, args in made if args.startswith("create cluster"))
    assert "--name kasboot-e2e" in create and "--wait" in create
    assert made[-2] == ("flux", f"check --pre --kubeconfig {stubs['KASBOOT_E2E_STATE']}/kubeconfig")
    bootstrap = made[-1][1].split()
    assert bootstrap[:2] == ["bootstrap", "gitlab"]
    flags = dict(zip(bootstrap[2::2], bootstrap[3::2], strict=False))
    assert flags["--path"] == "clusters/kasboot-e2e"
    assert flags["--owner"] == "group/sub" and flags["--repository"] == "kasboot-scratch"
    assert flags["--hostname"] == "https://gitlab.example.com"
    assert "--deploy-token-auth" in bootstrap
    # The token is in no argv, no file the script leaves, and not on stdout.
    assert all(TOKEN not in args for _, args in made)
    assert TOKEN not in done.stdout + done.stderr
    state = Path(stubs["KASBOOT_E2E_STATE"])
    assert all(TOKEN not in p.read_text() for p in state.iterdir() if p.is_file())
    exports = dict(line.removeprefix("export ").split("=", 1) for line in done.stdout.splitlines())
    assert exports == {
        "KASBOOT_E2E_GITLAB_HOST": "https://gitlab.example.com",
        "KASBOOT_E2E_GITLAB_TOKEN": '"${GITLAB_TOKEN}"',
        "KASBOOT_E2E_PROJECT": "group/sub/kasboot-scratch",
        "KASBOOT_E2E_KUBECONFIG": f"{state}/kubeconfig",
        "KASBOOT_E2E_FLUX_PATH": "clusters/kasboot-e2e",
    }
    assert (state / "e2e.env").read_text() == done.stdout
    sourced = subprocess.run(
        ["bash", "-c", f'. "{state}/e2e.env"; echo "$KASBOOT_E2E_GITLAB_TOKEN"'],
        env={**stubs, "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    )
    assert sourced.stdout.strip() == TOKEN  # the shell that sources it supplies the token


def test_docker_in_docker_points_the_kubeconfig_at_the_api_host(stubs: dict[str, str]) -> None:
    done = run({**stubs, "KASBOOT_E2E_API_HOST": "docker", "KASBOOT_E2E_PERSONAL": "true"})
    assert done.returncode == 0, done.stderr
    state = Path(stubs["KASBOOT_E2E_STATE"])
    assert "server: https://docker:41234" in (state / "kubeconfig").read_text()
    config = (state / "kind.yaml").read_text()
    assert 'apiServerAddress: "0.0.0.0"' in config and 'certSANs: ["docker"]' in config
    assert "--personal" in calls(stubs)[-1][1]


def test_down_deletes_the_cluster_and_only_fluxs_deploy_token_and_key(
    stubs: dict[str, str],
) -> None:
    assert run(stubs).returncode == 0
    Path(stubs["STUB_LOG"]).unlink()
    done = run(stubs, "--down")
    assert done.returncode == 0, done.stderr
    made = calls(stubs)
    assert ("kind", "delete cluster --name kasboot-e2e") in made
    curls = [args for tool, args in made if tool == "curl"]
    api = "https://gitlab.example.com/api/v4/projects/group%2Fsub%2Fkasboot-scratch"
    deletes = [a.split()[-1] for a in curls if "--request DELETE" in a]
    assert deletes == [f"{api}/deploy_tokens/7", f"{api}/deploy_keys/9"]
    assert all(TOKEN not in args for _, args in made)
    assert f"PRIVATE-TOKEN: {TOKEN}" in Path(stubs["STUB_DIR"], "curl-headers").read_text()
    assert not Path(stubs["KASBOOT_E2E_STATE"], "kubeconfig").exists()
    assert not any(Path(stubs["KASBOOT_E2E_STATE"]).glob("headers.*"))  # removed on exit


def test_refuses_without_a_token_or_a_project(stubs: dict[str, str]) -> None:
    missing_token = run({k: v for k, v in stubs.items() if k != "GITLAB_TOKEN"})
    assert missing_token.returncode == 2 and "GITLAB_TOKEN is unset" in missing_token.stderr
    bad_project = run({**stubs, "KASBOOT_E2E_PROJECT": "no-slash"})
    assert bad_project.returncode == 2 and "group/project" in bad_project.stderr
    assert calls(stubs) == []
