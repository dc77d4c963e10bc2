"""`kasboot wizard` driven in a real terminal: pexpect spawns the CLI in a pty, sends
keys and reads the screen, against a sandbox of its own (the wizard's defaults depend
on what the cluster already holds, so other tests' agents must not shift them)."""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import gitlab
import pexpect
import pytest
from ruamel.yaml import YAML

from tests.integration.bootstrap_helpers import kasboot_writes, run_kasboot
from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up

pytestmark = pytest.mark.sandbox
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
DEFAULT_RUN = (
    "GitLab host:",
    "GitLab project",
    "Agent name",
    "Manifest path",
    "Helm release name:",
    "HelmRelease namespace:",
    "Namespace agentk runs in:",
    "Create GitLab environments",
    "Customise advanced",
    "Apply these changes",
    "Save these answers",  # to .kasboot.yaml: the default is no
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp("wizard-sandbox")
    sandbox = sandbox_up(directory)
    try:
        yield sandbox
    finally:
        sandbox_down(directory)


class Terminal:
    """The CLI in a pseudo-terminal; `screen` is everything it drew, escapes removed."""

    def __init__(self, sandbox: Sandbox, *args: str, env: dict[str, str] | None = None) -> None:
        environ = {**os.environ, **sandbox.env, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}
        for name in ("CI", "CI_JOB_TOKEN", "NO_COLOR"):
            environ.pop(name, None)
        environ.update(env or {})
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "kasboot", *args],
            env=environ,
            cwd=str(sandbox.dir),
            dimensions=(60, 220),
            encoding="utf-8",
            timeout=90,
        )
        self.raw = ""

    def wait_for(self, text: str) -> None:
        self.child.expect_exact(text)
        self.raw += str(self.child.before) + str(self.child.after)

    def answer(self, prompt: str, keys: str = "\r") -> None:
        self.wait_for(prompt)
        self.child.send(keys)

    def finish(self) -> int:
        self.child.expect(pexpect.EOF)
        self.raw += str(self.child.before)
        self.child.close()
        status = self.child.exitstatus
        return int(status if status is not None else 128 + (self.child.signalstatus or 0))

    @property
    def screen(self) -> str:
        return ANSI.sub("", self.raw).replace("\r", "")


def equivalent_command(screen: str) -> list[str]:
    lines = [line.strip() for line in screen.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("Equivalent command"))
    command = next(line for line in lines[start:] if "kasboot bootstrap" in line)
    words = shlex.split(command)
    return words[words.index("bootstrap") :]


def run_through(terminal: Terminal, prompts: Sequence[str]) -> None:
    for prompt in prompts:
        terminal.answer(prompt)


def test_defaults_bootstrap_and_the_equivalent_command_changes_nothing(world: Sandbox) -> None:
    terminal = Terminal(world, "wizard")
    run_through(terminal, DEFAULT_RUN)
    code = terminal.finish()
    screen = terminal.screen
    assert code == 0, screen[-3000:]
    assert "topology OK" in screen
    assert "Review: the plan (nothing has been written)" in screen
    assert "PLANNED" in screen and "Bootstrapped the GitLab agent" in screen
    # item 12: the answers reviewed above the plan, one verdict line, a next step
    assert screen.index("Review: your answers") < screen.index("Review: the plan")
    assert "Plan: " in screen and "change(s)" in screen
    assert "Next: `kasboot status sandbox -R demo/fleet`" in screen
    assert "Use manifest path" not in screen  # a good verdict needs no second yes

    args = equivalent_command(screen)
    assert args[:2] == ["bootstrap", "sandbox"]  # the agent is named after the kube context
    assert "--manifest-path" in args and "clusters/sandbox/sandbox" in args
    project = gitlab.Gitlab(world.gitlab_url, private_token=world.token).projects.get(world.project)
    assert "sandbox" in [a.name for a in project.cluster_agents.list(get_all=True)]

    again = run_kasboot(world, *args, "--output", "json")
    assert again.code == 0, again.stderr
    results = {step["name"]: step["result"] for step in again.json()["steps"]}
    assert results.pop("preflight") == "OK"
    assert set(results.values()) == {"UNCHANGED"}, results


def test_ctrl_c_at_a_prompt_exits_130_and_writes_nothing(world: Sandbox) -> None:
    world.clear_logs()
    terminal = Terminal(world, "bootstrap")  # no AGENT at a terminal: the wizard
    run_through(terminal, DEFAULT_RUN[:4])
    terminal.answer("Helm release name:", "\x03")
    assert terminal.finish() == 130
    assert "Interrupted." in terminal.screen
    gitlab_log, kube_log = world.gitlab_requests(), world.kube_requests()
    assert gitlab_log and kube_log  # it did read (pre-flight and the guard ran) …
    assert kasboot_writes(gitlab_log) == []  # … and wrote nothing
    assert kasboot_writes(kube_log) == []


def test_ci_on_a_terminal_never_prompts(world: Sandbox) -> None:
    for args, needle in ((["wizard"], "kasboot bootstrap AGENT"), (["bootstrap"], "KASBOOT_AGENT")):
        terminal = Terminal(world, *args, env={"CI": "true"})
        assert terminal.finish() == 2
        screen = terminal.screen
        assert "CI is set" in screen and needle in screen
        assert "?" not in screen.split("Error:")[0]  # nothing was asked


def test_agent_name_checked_as_you_type_and_advanced_options_reviewed(
    world: Sandbox, tmp_path: Path
) -> None:
    world.clear_logs()
    terminal = Terminal(world, "wizard")
    run_through(terminal, DEFAULT_RUN[:2])
    terminal.answer("Agent name", "\x15Bad_Name")  # Ctrl-U clears the default first
    terminal.wait_for("lowercase letters")
    terminal.child.send("\x15proxied\r")
    run_through(terminal, DEFAULT_RUN[3:8])
    terminal.answer("Customise advanced", "y")
    terminal.answer("Helm values files")
    terminal.answer("PEM file of the CA")
    terminal.answer("HTTPS proxy", "http://proxy.internal:3128\r")
    terminal.answer("NO_PROXY", ".svc,10.0.0.0/8\r")
    terminal.answer("RBAC for agentk")
    terminal.answer("agentk version")
    # The sandbox's own agent has the cluster's Flux environment: said, and asked here.
    terminal.answer("Which agent should the Flux environment")
    terminal.answer("Apply these changes", "n")
    assert terminal.finish() == 0
    screen = terminal.screen
    assert "Shared with agent sandbox: Flux (flux-system/flux-system)" in screen
    assert "extraEnv" in screen and "http://proxy.internal:3128" in screen  # in the plan
    args = equivalent_command(screen)
    assert args[:2] == ["bootstrap", "proxied"]
    # The seed options are flags of the equivalent command (no values file to keep).
    assert args[args.index("--https-proxy") + 1] == "http://proxy.internal:3128"
    assert args[args.index("--no-proxy") + 1] == ".svc,10.0.0.0/8"
    assert "Nothing written." in screen
    assert kasboot_writes(world.gitlab_requests()) == []
    assert kasboot_writes(world.kube_requests()) == []


def test_kube_context_chosen_from_kubeconfig_reaches_the_command(
    world: Sandbox, tmp_path: Path
) -> None:
    kubeconfig = YAML(typ="safe").load(world.kubeconfig.read_text())
    kubeconfig["contexts"].append(
        {"name": "admin@other", "context": dict(kubeconfig["contexts"][0]["context"])}
    )
    path = tmp_path / "kubeconfig"
    with path.open("w") as stream:
        YAML(typ="safe").dump(kubeconfig, stream)
    terminal = Terminal(world, "wizard", env={"KUBECONFIG": str(path)})
    run_through(terminal, DEFAULT_RUN[:2])
    terminal.answer("Kube context:", "\x1b[B\r")  # arrow down to the other context, Enter
    terminal.answer("Agent name", "\x15second\r")
    run_through(terminal, DEFAULT_RUN[3:9])
    terminal.answer("Apply these changes", "n")
    assert terminal.finish() == 0
    screen = terminal.screen
    assert "sandbox (current)" in screen
    args = equivalent_command(screen)
    assert args[args.index("--context") + 1] == "admin@other"
    assert "Nothing written." in screen


def test_root_path_trap_verdict_before_confirming_and_a_fix_chosen(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    directory = tmp_path_factory.mktemp("wizard-root-sandbox")
    trapped = sandbox_up(directory, "--flux-path", "./")
    try:
        trapped.clear_logs()
        terminal = Terminal(trapped, "wizard")
        run_through(terminal, DEFAULT_RUN[:4])
        terminal.answer("How to go on?", "\x1b[B\r")  # the second cure: sourceignore
        run_through(terminal, DEFAULT_RUN[4:9])
        terminal.answer("Apply these changes", "n")
        assert terminal.finish() == 0
        screen = terminal.screen
        # on a root-path layout no other path can work: it is not offered (no loop)
        assert "choose another manifest path" not in screen
        assert "stop here (nothing written)" in screen
        refusal = screen.index("✖ Flux would fail to reconcile the GitLab agent")
        assert refusal < screen.index("topology fixed by --fix: .sourceignore")
        args = equivalent_command(screen)
        assert args[args.index("--fix") + 1] == "sourceignore"
        assert kasboot_writes(trapped.gitlab_requests()) == []
        assert kasboot_writes(trapped.kube_requests()) == []
    finally:
        sandbox_down(directory)
