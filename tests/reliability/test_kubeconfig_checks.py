"""Issue 21 item 17: kubeconfig mistakes are usage errors (exit 2) found before any
request and without the kubernetes client: a missing KUBECONFIG file says so, an
unknown --context says `context "prod" does not exist` and lists the contexts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kasboot.errors import UsageError
from kasboot.kubeconfig_checks import check_kube_config

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: {server: "https://127.0.0.1:6443"}
- name: no-server
  cluster: {}
users:
- name: u1
  user: {token: t}
contexts:
- name: dev
  context: {cluster: c1, user: u1}
- name: staging
  context: {cluster: c1, user: u1}
- name: broken
  context: {cluster: missing, user: u1}
- name: serverless
  context: {cluster: no-server, user: u1}
- name: userless
  context: {cluster: c1, user: nobody}
current-context: dev
"""


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "config"
    path.write_text(KUBECONFIG)
    return path


def _error(kubeconfig: Path | None, context: str | None, env: dict[str, str]) -> UsageError:
    with pytest.raises(UsageError) as caught:
        check_kube_config(kubeconfig, context, env)
    assert caught.value.exit_code == 2
    return caught.value


def test_a_good_kubeconfig_passes(kubeconfig: Path) -> None:
    check_kube_config(kubeconfig, None, {})
    check_kube_config(kubeconfig, "staging", {})
    check_kube_config(None, "staging", {"KUBECONFIG": str(kubeconfig)})


def test_an_unknown_context_names_it_and_lists_the_others(kubeconfig: Path) -> None:
    error = _error(kubeconfig, "prod", {})
    assert error.message == f'context "prod" does not exist in {kubeconfig}'
    assert "dev, serverless, staging" in (error.hint or "")


def test_a_missing_kubeconfig_file_says_it_is_missing(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "config"
    error = _error(None, None, {"KUBECONFIG": str(missing)})
    assert "does not exist" in error.message and str(missing) in error.message


def test_kubeconfig_lists_skip_missing_files_like_kubectl(kubeconfig: Path, tmp_path: Path) -> None:
    listed = os.pathsep.join([str(tmp_path / "missing"), str(kubeconfig)])
    check_kube_config(None, "dev", {"KUBECONFIG": listed})


def test_no_kubeconfig_at_all(tmp_path: Path) -> None:
    error = _error(None, None, {"HOME": str(tmp_path)})
    assert "KUBECONFIG is not set" in error.message
    check_kube_config(None, None, {"HOME": str(tmp_path), "KUBERNETES_SERVICE_HOST": "10.0.0.1"})


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ("broken", 'names cluster "missing"'),
        ("serverless", "has no server"),
        ("userless", 'names user "nobody"'),
    ],
)
def test_a_context_that_cannot_work(kubeconfig: Path, context: str, message: str) -> None:
    assert message in _error(kubeconfig, context, {}).message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("clusters: [\n", "is not valid YAML"),
        ("- a\n", "not a YAML map"),
        ("apiVersion: v1\nkind: Config\n", "sets no current-context"),
    ],
)
def test_broken_kubeconfig_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config"
    path.write_text(content)
    assert message in _error(path, None, {}).message


def test_the_check_does_not_import_the_kubernetes_client(kubeconfig: Path) -> None:
    code = (
        "import sys; from pathlib import Path; "
        "from kasboot.kubeconfig_checks import check_kube_config; "
        f"check_kube_config(Path({str(kubeconfig)!r}), None, {{}}); "
        "print('kubernetes' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.sandbox
@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {"KUBECONFIG": "/nonexistent/kubeconfig"}, "does not exist: /nonexistent/kubeconfig"),
        (["--context", "prod"], {}, 'context "prod" does not exist'),
    ],
)
def test_bootstrap_exit_2_before_any_request(
    sandbox: Any, args: list[str], env: dict[str, str], message: str
) -> None:
    from tests.reliability.helpers import run_watched

    watched = run_watched(sandbox, "bootstrap", "kubecheck", *args, env=env)
    assert watched.result.code == 2, watched.result.stderr
    assert message in watched.result.stderr
    assert "Traceback" not in watched.result.stderr
    assert watched.requests == 0  # not even a read: checked before the first request
