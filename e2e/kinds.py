"""The two worlds: the sandbox (started here, writes read from the emulators' request
logs) and a real GitLab + cluster named by KASBOOT_E2E_* (writes read from GitLab's own
record)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from e2e.world import KASBOOT_USER_AGENT, WRITE_METHODS, Mark, World


class SandboxWorld(World):
    """``kasboot sandbox up`` in a temporary directory; writes read from the emulators'
    request logs (only kasboot's own requests: the Flux simulator talks to them too)."""

    def __init__(self, directory: Path) -> None:
        up = subprocess.run(
            [sys.executable, "-m", "kasboot", "sandbox", "up", "--dir", str(directory), "--detach"],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if up.returncode != 0:
            raise RuntimeError(f"sandbox up failed:\n{up.stderr}")
        from kasboot.sandbox.world import parse_env

        super().__init__("sandbox", parse_env(up.stdout), "clusters/sandbox", directory)
        self.directory = directory
        self.on_cleanup(self._down)

    def _down(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "kasboot", "sandbox", "down", "--dir", str(self.directory)],
            capture_output=True,
            check=False,
            timeout=60,
        )

    @property
    def kube_url(self) -> str:
        state = json.loads((self.directory / "world.json").read_text())
        return f"http://127.0.0.1:{state['kube_port']}"

    def _log(self, base: str) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{base}/-/sandbox/requests", timeout=10) as answer:
            return list(json.loads(answer.read()))

    def writes_since(self, mark: Mark) -> list[str]:
        found = []
        for system, base in (("GitLab", self.env["GITLAB_HOST"]), ("cluster", self.kube_url)):
            found += [
                f"{system} {r['method']} {r['path']}"
                for r in self._log(base)
                if r["method"] in WRITE_METHODS
                and r.get("user_agent", "").startswith(KASBOOT_USER_AGENT)
                and float(r["at"]) >= mark.at
            ]
        return found


class RealWorld(World):
    """A real GitLab project and a cluster with Flux bootstrapped from it (e2e/kind-flux.sh
    makes one). Writes are read from GitLab's record (commits, tokens, environments) and
    the Secret's resourceVersion: a real GitLab has no request log to read."""

    def __init__(self, directory: Path) -> None:
        env = {
            "GITLAB_HOST": os.environ["KASBOOT_E2E_GITLAB_HOST"],
            "GITLAB_TOKEN": os.environ["KASBOOT_E2E_GITLAB_TOKEN"],
            "KUBECONFIG": os.environ["KASBOOT_E2E_KUBECONFIG"],
            "KASBOOT_PROJECT": os.environ["KASBOOT_E2E_PROJECT"],
        }
        flux_path = os.environ.get("KASBOOT_E2E_FLUX_PATH", "clusters/kasboot-e2e").strip("/")
        super().__init__("real", env, flux_path.removeprefix("./"), directory, timeout="5m")
        self.fixed_agent = os.environ.get("KASBOOT_E2E_AGENT") or None

    def writes_since(self, mark: Mark) -> list[str]:
        return self.audit_changes(mark)


def make_world(kind: str, directory: Path) -> World:
    return SandboxWorld(directory) if kind == "sandbox" else RealWorld(directory)
