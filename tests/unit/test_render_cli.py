"""`kasboot render`: the manifests on stdout, offline when the KAS address is given."""

from __future__ import annotations

import subprocess
import sys

from ruamel.yaml import YAML


def test_render_prints_both_manifests_offline() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "kasboot",
            "render",
            "edge",
            "-p",
            "clusters/edge",
            "--kas-address",
            "wss://kas.example.com",
            "--kas-version",
            "17.5.1",
            "--gitlab-agent-token-secret-name",
            "edge-token",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "# clusters/edge/gitlab-helm-repository.yaml" in completed.stdout
    documents = list(YAML(typ="safe").load_all(completed.stdout))
    release = next(d for d in documents if d and d["kind"] == "HelmRelease")
    assert release["spec"]["values"] == {
        "config": {"kasAddress": "wss://kas.example.com", "secretName": "edge-token"},
        "image": {"tag": "v17.5.0"},  # without the patch, as GitLab pins it
    }
