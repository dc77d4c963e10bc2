"""``kasboot sandbox up|down|status``: the emulated world (GitLab, Kubernetes, Flux) on
127.0.0.1, in one background process whose state lives in ``--dir``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import click

from kasboot.errors import ExitCode, KasbootError, UsageError

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
WORLD_MODULE = "kasboot.sandbox.world"


class SandboxError(KasbootError):
    """The sandbox could not be started (its log says why)."""

    exit_code = ExitCode.INTERNAL


def _dir_option(function: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--dir",
        "directory",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(".kasboot-sandbox"),
        show_default=True,
        help="Where the sandbox keeps its state, kubeconfig and sandbox.env.",
    )(function)


@click.group()
def sandbox() -> None:
    """The emulated world (GitLab + Kubernetes + Flux) on loopback, for demos and tests."""


def _state(directory: Path) -> dict[str, object] | None:
    path = directory / "world.json"
    if not path.is_file():
        return None
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def _is_world_process(pid: int) -> bool:
    """Alive and really our world (a recycled pid must never be signalled)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        try:
            return WORLD_MODULE in cmdline.read_bytes().decode(errors="replace")
        except OSError:
            return False
    return True  # no /proc (macOS): trust world.json


def _running_pid(directory: Path) -> int | None:
    state = _state(directory)
    pid = state.get("pid") if state else None
    return pid if isinstance(pid, int) and _is_world_process(pid) else None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/sandbox/faults", timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def _urls(state: dict[str, object]) -> tuple[str, str]:
    return (
        f"http://127.0.0.1:{state['gitlab_port']}",
        f"http://127.0.0.1:{state['kube_port']}",
    )


def _print_exports(directory: Path) -> None:
    click.echo((directory / "sandbox.env").read_text(encoding="utf-8"), nl=False)


def _flux_world_args(flux_version: str | None, flux_receiver: bool) -> list[str]:
    """The world's Flux options (--flux-version checked here: a usage error, exit 2)."""
    args = []
    if flux_version:
        from kasboot.sandbox.flux.versions import parse_release

        try:
            parse_release(flux_version)
        except ValueError as error:
            raise UsageError(f"--flux-version: {error}") from None
        args += ["--flux-version", flux_version]
    if flux_receiver:
        args.append("--flux-receiver")
    return args


def _world_args(
    directory: Path,
    project: str,
    flux_path: str,
    no_kas: bool,
    kas_version: str | None,
    no_flux: bool,
    gitlab_version: str | None = None,
    external_url: str | None = None,
) -> list[str]:
    args = [sys.executable, "-m", WORLD_MODULE, "serve", "--dir", str(directory)]
    args += ["--project", project, "--flux-path", flux_path]
    if kas_version is not None:
        args += ["--kas-version", kas_version]
    if gitlab_version is not None:
        args += ["--gitlab-version", gitlab_version]
    if external_url is not None:
        args += ["--external-url", external_url]
    if no_kas:
        args.append("--no-kas")
    if no_flux:
        args.append("--no-flux")
    return args


def _wait_ready(directory: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SandboxError(
                f"the sandbox exited with code {process.returncode}",
                f"see {directory / 'world.log'}",
            )
        state = _state(directory)
        if state and state.get("ready") and state.get("pid") == process.pid:
            gitlab_url, kube_url = _urls(state)
            if _answers(gitlab_url) and _answers(kube_url):
                return
        time.sleep(0.05)
    raise SandboxError("the sandbox did not become ready in time", f"see {directory / 'world.log'}")


@sandbox.command()
@_dir_option
@click.option("--project", default="demo/fleet", show_default=True, help="GROUP/NAME to seed.")
@click.option(
    "--flux-path",
    default="./clusters/sandbox",
    show_default=True,
    help="flux bootstrap --path ('./' reproduces the root-path setup).",
)
@click.option("--no-kas", is_flag=True, help="Seed GitLab with KAS disabled.")
@click.option(
    "--kas-version",
    default=None,
    help="What /metadata reports as kas.version, verbatim (e.g. 17.4.0-rc1+<sha>, or "
    "'null' for a KAS GitLab cannot ask). Default: the GitLab version.",
)
@click.option(
    "--gitlab-version",
    default=None,
    help="The GitLab release to behave as (e.g. 16.11.0, 17.2.0). Default: a current 18.x.",
)
@click.option(
    "--external-url",
    default=None,
    help="The URL GitLab believes it is reached at (pagination links point there), "
    "as behind a port-forward. Default: its listening address.",
)
@click.option("--no-flux", is_flag=True, help="Install no Flux at all.")
@click.option(
    "--flux-version",
    default=None,
    metavar="X.Y.Z",
    help="Serve only the Flux API versions this Flux release served (default: 2.9.4).",
)
@click.option(
    "--flux-receiver",
    is_flag=True,
    help="A Flux webhook Receiver: every push to the branch annotates the GitRepository.",
)
@click.option(
    "--clusters",
    type=click.IntRange(1, 20),
    default=1,
    show_default=True,
    help="Clusters sharing the GitLab (contexts sandbox, sandbox-2, …; Flux of each extra "
    "cluster at ./clusters/sandbox-N), for trying `kasboot fleet`.",
)
@click.option(
    "--fault-seed",
    type=click.IntRange(0, 2**31 - 1),
    default=None,
    metavar="N",
    help="Seed the emulators' fault draws, to replay a fault run (default: random; "
    "GET /-/sandbox/faults shows it).",
)
@click.option(
    "--receptive-agents",
    type=click.Choice(["offered", "unlicensed", "disabled"]),
    default="offered",
    show_default=True,
    help="Whether GitLab offers receptive agents: not on a tier without them (unlicensed) "
    "or with the instance setting off (disabled): url_configurations answers 404.",
)
@click.option("--detach", is_flag=True, help="Return once it answers; stop with `down`.")
def up(
    directory: Path,
    project: str,
    flux_path: str,
    no_kas: bool,
    kas_version: str | None,
    gitlab_version: str | None,
    external_url: str | None,
    no_flux: bool,
    flux_version: str | None,
    flux_receiver: bool,
    clusters: int,
    fault_seed: int | None,
    receptive_agents: str,
    detach: bool,
) -> None:
    """Start (and on first use seed) the sandbox; print its shell exports."""
    from kasboot.cli.sandbox_extras import require_sandbox_extras

    require_sandbox_extras()
    if "/" not in project.strip("/"):
        raise UsageError(f"--project must be GROUP/NAME, got {project!r}")
    if gitlab_version is not None:
        from kasboot.sandbox.gitlab.versions import parse as parse_gitlab_version

        try:
            parse_gitlab_version(gitlab_version)
        except ValueError as error:
            raise UsageError(str(error)) from None
    directory = directory.resolve()
    flux_args = _flux_world_args(flux_version, flux_receiver)
    if clusters > 1:
        flux_args += ["--clusters", str(clusters)]
    if fault_seed is not None:
        flux_args += ["--fault-seed", str(fault_seed)]
    flux_args += ["--receptive-agents", receptive_agents]
    from kasboot.cli.sandbox_reuse import check_reuse

    running = _running_pid(directory) is not None
    given = {
        "project": project,
        "flux_path": flux_path,
        "no_flux": no_flux,
        "flux_version": flux_version,
        "no_kas": no_kas,
        "kas_version": kas_version,
        "gitlab_version": gitlab_version,
        "external_url": external_url,
        "flux_receiver": flux_receiver,
        "clusters": clusters,
        "fault_seed": fault_seed,
        "receptive_agents": receptive_agents,
    }
    check_reuse(click.get_current_context(), directory, _state(directory), running, given)
    directory.mkdir(parents=True, exist_ok=True)
    if running:
        click.echo(f"# the sandbox in {directory} is already running", err=True)
        _print_exports(directory)
        return
    args = _world_args(
        directory, project, flux_path, no_kas, kas_version, no_flux, gitlab_version, external_url
    )
    with (directory / "world.log").open("ab") as log:
        # A new session: the world outlives this command and Ctrl-C here does not reach it.
        process = subprocess.Popen(
            [*args, *flux_args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    try:
        _wait_ready(directory, process)
    except BaseException:
        _terminate(process.pid)
        raise
    if detach:
        _print_exports(directory)
        return
    try:  # from here on Ctrl-C is the way to stop it, not an interruption
        _print_exports(directory)
        click.echo("# sandbox running; press Ctrl-C to stop it", err=True)
        process.wait()
    except KeyboardInterrupt:
        _terminate(process.pid)
        click.echo("# sandbox stopped", err=True)


def _terminate(pid: int) -> bool:
    """SIGTERM the world's process group (it leads its own session), then wait; SIGKILL
    only if it does not stop in time. True when it is gone."""
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 2.0)):
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                finished, _ = os.waitpid(pid, os.WNOHANG)  # reap when it is our child
                if finished == pid:
                    return True
            except ChildProcessError:
                pass
            if not _is_world_process(pid):
                return True
            time.sleep(0.05)
    return not _is_world_process(pid)


@sandbox.command()
@_dir_option
def down(directory: Path) -> None:
    """Stop the sandbox; its state stays in --dir for the next `up`."""
    directory = directory.resolve()
    pid = _running_pid(directory)
    if pid is None:
        click.echo(f"the sandbox in {directory} is not running")
        return
    if not _terminate(pid):
        raise SandboxError(f"the sandbox (pid {pid}) did not stop")
    click.echo(f"the sandbox in {directory} is stopped")


def running_gitlab_url(directory: Path) -> str:
    """The GitLab URL of the sandbox running in `directory` (UsageError when none runs)."""
    state = _state(directory)
    if state is None or _running_pid(directory) is None:
        raise UsageError(
            f"no sandbox is running in {directory}",
            hint=f"start it: kasboot sandbox up --dir {directory} --detach",
        )
    return _urls(state)[0]


@sandbox.command()
@_dir_option
def status(directory: Path) -> None:
    """What runs (exit 0), or that nothing does (exit 5: the cluster is unreachable)."""
    directory = directory.resolve()
    state = _state(directory)
    pid = _running_pid(directory)
    if state is None or pid is None:
        click.echo(f"the sandbox in {directory} is down")
        sys.exit(int(ExitCode.CLUSTER))
    gitlab_url, kube_url = _urls(state)
    options = state.get("options") or {}
    assert isinstance(options, dict)
    rows = [
        ("process", f"pid {pid}"),
        ("gitlab", f"{gitlab_url} ({'up' if _answers(gitlab_url) else 'not answering'})"),
        ("kubernetes", f"{kube_url} ({'up' if _answers(kube_url) else 'not answering'})"),
        ("flux", "simulated" if options.get("flux", True) else "not installed"),
        ("project", str(options.get("project"))),
        ("flux path", str(options.get("flux_path"))),
    ]
    for label, value in rows:
        click.echo(f"{label:<11} {value}")
    if not (_answers(gitlab_url) and _answers(kube_url)):
        sys.exit(int(ExitCode.CLUSTER))


def _add_commands() -> None:
    from kasboot.cli.sandbox_token import token

    sandbox.add_command(token)


_add_commands()
