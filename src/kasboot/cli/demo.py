"""`kasboot demo`: the whole story on the embedded sandbox, narrated — start the
emulated GitLab, cluster and Flux; bootstrap an agent; run it again (nothing changes);
show what the cluster holds; then meet the Flux root-path trap, see kasboot refuse it
before writing, and fix it with --fix. Every step runs the real CLI, as a user would."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from kasboot.errors import ExitCode, KasbootError

AGENT = "demo-agent"
MANIFEST_PATH = "clusters/sandbox/gitlab-agent"


class DemoError(KasbootError):
    exit_code = ExitCode.INTERNAL


def _say(text: str) -> None:
    click.secho(f"\n▶ {text}", bold=True, err=True)


def _kasboot(args: list[str], env: dict[str, str], expect: int = 0) -> str:
    click.secho(f"$ kasboot {shlex.join(args)}", fg="cyan", err=True)
    completed = subprocess.run(
        [sys.executable, "-m", "kasboot", *args],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if completed.stdout:
        click.echo(completed.stdout.rstrip("\n"), err=True)
    if completed.returncode != expect:
        raise DemoError(
            f"`kasboot {shlex.join(args)}` exited {completed.returncode}, expected {expect}",
            hint="re-run with --keep to inspect the sandbox",
        )
    return completed.stdout


def _up(directory: Path, env: dict[str, str], *flags: str) -> dict[str, str]:
    from kasboot.sandbox.world import parse_env

    output = _kasboot(["sandbox", "up", "--dir", str(directory), "--detach", *flags], env)
    exports = parse_env(output)
    return {**env, **exports}


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the sandboxes live (default: a temporary directory).",
)
@click.option("--keep", is_flag=True, help="Leave the sandboxes running at the end.")
def demo(directory: Path | None, keep: bool) -> None:
    """Run the narrated demo on the embedded sandbox (nothing outside 127.0.0.1)."""
    from kasboot.cli.sandbox_extras import require_sandbox_extras

    require_sandbox_extras()
    temporary = directory is None  # created here, so removed here (unless --keep)
    base = directory or Path(tempfile.mkdtemp(prefix="kasboot-demo-"))
    base.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITLAB_", "KASBOOT_"))}
    env.pop("KUBECONFIG", None)
    started: list[Path] = []
    try:
        _say("Starting the sandbox: GitLab, Kubernetes and Flux emulators on 127.0.0.1")
        healthy = base / "healthy"
        started.append(healthy)
        world = _up(healthy, env)
        bootstrap = ["bootstrap", AGENT, "--manifest-path", MANIFEST_PATH]

        _say(f"Bootstrapping agent {AGENT!r}: one commit, token only in the cluster Secret")
        _kasboot(bootstrap, world)

        _say("Running the same command again: every step UNCHANGED, nothing written")
        _kasboot(bootstrap, world)

        _say("Flux's root-path trap: a sandbox whose Flux reconciles the repository root")
        trapped = base / "root-path"
        started.append(trapped)
        trap_world = _up(trapped, env, "--flux-path", "./")
        trap = ["bootstrap", AGENT, "--manifest-path", "agents/gitlab-agent"]
        _say("kasboot predicts Flux would choke on config.yaml and refuses (exit 3)")
        _kasboot(trap, trap_world, expect=int(ExitCode.PREFLIGHT))
        _say("With --fix sourceignore, .gitlab/ stays out of Flux's sight, in the same commit")
        _kasboot([*trap, "--fix", "sourceignore"], trap_world)
        _say("Done. Both agents run and Flux is Ready.")
        if keep:
            for path in started:
                click.echo(f"sandbox kept in {path}: source {path / 'sandbox.env'}", err=True)
                click.echo(f"stop it with: kasboot sandbox down --dir {path}", err=True)
            return
        _say("Stopping the sandboxes (their state stays in --dir until it is removed)")
        for path in list(started):
            _kasboot(["sandbox", "down", "--dir", str(path)], env)
            started.remove(path)
    finally:
        if not keep:
            _stop_quietly(started, env)  # after a failure: the ones still running
            if temporary:
                shutil.rmtree(base, ignore_errors=True)


def _stop_quietly(started: list[Path], env: dict[str, str]) -> None:
    for path in started:
        subprocess.run(
            [sys.executable, "-m", "kasboot", "sandbox", "down", "--dir", str(path)],
            env=env,
            capture_output=True,
        )
