"""Shell completion: `kasboot completion SHELL` prints click's script, and TAB completes
agent names from GitLab (the sandbox's) and kube contexts from kubeconfig, silently
completing nothing when GitLab cannot be asked."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import gitlab
import pytest

from kasboot.sandbox.common import free_port

pytestmark = pytest.mark.sandbox
VENV_BIN = str(Path(sys.executable).parent)


def kasboot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kasboot", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=60,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def complete(
    words: str, sandbox: Any, cwd: Path, shell: str = "bash", **extra: str
) -> subprocess.CompletedProcess[str]:
    parts = words.split(" ")
    env = {
        **os.environ, **sandbox.env, **extra,
        "_KASBOOT_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1),
    }  # fmt: skip
    env.pop("CI_JOB_TOKEN", None)
    return kasboot(env=env, cwd=cwd)


def bash_items(output: str) -> list[str]:
    return [line.split(",", 1)[1] for line in output.splitlines() if "," in line]


@pytest.fixture(scope="module")
def agent(sandbox: Any) -> str:
    gl = gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token)
    project = gl.projects.get(sandbox.project)
    if "tab-agent" not in [a.name for a in project.cluster_agents.list(get_all=True)]:
        project.cluster_agents.create({"name": "tab-agent"})
    return "tab-agent"


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o nosort -F _kasboot_completion kasboot"),
     ("zsh", "#compdef kasboot"), ("fish", "complete --no-files --command kasboot")],
)  # fmt: skip
def test_scripts(tmp_path: Path, shell: str, marker: str) -> None:
    done = kasboot("completion", shell, env=dict(os.environ), cwd=tmp_path)
    assert done.returncode == 0
    assert marker in done.stdout and "_KASBOOT_COMPLETE" in done.stdout


def test_unknown_shell_is_a_usage_error(tmp_path: Path) -> None:
    assert kasboot("completion", "tcsh", env=dict(os.environ), cwd=tmp_path).returncode == 2


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_sources_the_script_and_completes_agents(
    sandbox: Any, agent: str, tmp_path: Path
) -> None:
    script = (
        'source <(kasboot completion bash)\n'
        'COMP_WORDS=(kasboot bootstrap tab-); COMP_CWORD=2; _kasboot_completion kasboot\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )  # fmt: skip
    env = {**os.environ, **sandbox.env, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "--norc", "-c", script], capture_output=True, text=True, env=env,
        cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [agent]


@pytest.mark.parametrize("command", ["bootstrap", "plan", "wizard"])
def test_agent_names_from_gitlab(sandbox: Any, agent: str, tmp_path: Path, command: str) -> None:
    done = complete(f"kasboot {command} tab", sandbox, tmp_path)
    assert done.returncode == 0
    assert bash_items(done.stdout) == [agent]


def test_agent_names_for_the_project_given_by_repo(
    sandbox: Any, agent: str, tmp_path: Path
) -> None:
    env = {"KASBOOT_PROJECT": "nobody/nothing"}
    missing = complete("kasboot bootstrap tab", sandbox, tmp_path, **env)
    assert bash_items(missing.stdout) == []
    given = complete(f"kasboot bootstrap -R {sandbox.project} tab", sandbox, tmp_path, **env)
    assert bash_items(given.stdout) == [agent]


def test_kube_contexts_from_kubeconfig(sandbox: Any, tmp_path: Path) -> None:
    done = complete("kasboot bootstrap a --context ", sandbox, tmp_path)
    assert bash_items(done.stdout) == ["sandbox"]
    zsh = complete("kasboot plan a --context s", sandbox, tmp_path, shell="zsh")
    assert zsh.stdout.splitlines()[:3] == ["plain", "sandbox", "current"]


@pytest.mark.parametrize(
    ("broken", "agents_lost", "contexts_lost"),
    [({"GITLAB_HOST": "http://127.0.0.1:{port}"}, True, False),
     ({"GITLAB_TOKEN": ""}, True, False),
     ({"KUBECONFIG": "/nonexistent/kubeconfig"}, False, True)],
)  # fmt: skip
def test_silent_when_nothing_can_be_asked(
    sandbox: Any,
    agent: str,
    tmp_path: Path,
    broken: dict[str, str],
    agents_lost: bool,
    contexts_lost: bool,
) -> None:
    extra = {k: v.format(port=free_port()) for k, v in broken.items()}
    agents = complete("kasboot bootstrap tab", sandbox, tmp_path, HOME=str(tmp_path), **extra)
    contexts = complete("kasboot plan a --context ", sandbox, tmp_path, **extra)
    for done in (agents, contexts):
        assert done.returncode == 0 and done.stderr == ""
    assert bash_items(agents.stdout) == ([] if agents_lost else [agent])
    assert bash_items(contexts.stdout) == ([] if contexts_lost else ["sandbox"])


@pytest.mark.parametrize(
    "command",
    ["status", "doctor", "uninstall", "token rotate", "token list", "token revoke", "render"],
)
def test_agent_names_for_every_command_that_takes_an_agent(
    sandbox: Any, agent: str, tmp_path: Path, command: str
) -> None:
    done = complete(f"kasboot {command} tab", sandbox, tmp_path)
    assert done.returncode == 0, done.stderr
    assert bash_items(done.stdout) == [agent]


@pytest.mark.parametrize(
    ("words", "expected"),
    [("bootstrap a --fix s", ["sourceignore"]),
     ("bootstrap a --fix ", ["add-kustomization", "sourceignore"]),
     ("bootstrap a --fix add-kustomization,s", ["add-kustomization,sourceignore"]),
     ("status a --output ", ["text", "json"]),
     ("doctor -o j", ["json"]),
     ("uninstall a --commit-via ", ["api", "local"]),
     ("plan a --flux-source-type ", ["git", "oci", "helm"])],
)  # fmt: skip
def test_choices_complete(sandbox: Any, tmp_path: Path, words: str, expected: list[str]) -> None:
    done = complete(f"kasboot {words}", sandbox, tmp_path)
    assert done.returncode == 0, done.stderr
    assert bash_items(done.stdout) == expected
