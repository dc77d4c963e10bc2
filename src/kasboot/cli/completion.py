"""`kasboot completion bash|zsh|fish`: print click's shell completion script, and the
dynamic completers it calls back into: agent names (from GitLab) and kube contexts
(from kubeconfig). A completer runs on every TAB, so it must be quick and never
print an error: anything that goes wrong completes nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem, get_completion_class

SHELLS = ("bash", "zsh", "fish")
PROG_NAME = "kasboot"
COMPLETE_VAR = "_KASBOOT_COMPLETE"
# A TAB must not hang on a slow or unreachable GitLab: one short try, no retries.
AGENT_LIST_TIMEOUT = 3.0


def complete_kube_contexts(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from kasboot.wizard.discovery import kube_contexts

    kubeconfig = ctx.params.get("kubeconfig") or os.environ.get("KASBOOT_KUBECONFIG")
    names, current = kube_contexts(Path(kubeconfig) if kubeconfig else None)
    return [
        CompletionItem(name, help="current" if name == current else None)
        for name in names
        if name.startswith(incomplete)
    ]


def agent_names_for(repo: str | None, cwd: Path, env: dict[str, str]) -> list[str]:
    """The project's agents, or [] on any failure (no project, no token, GitLab down)."""
    import gitlab

    from kasboot.credentials import gitlab_credentials
    from kasboot.localrepo import resolve_project

    try:
        project, host = resolve_project(repo, cwd, env)
        credentials = gitlab_credentials(host_hint=host, env=env)
        client = gitlab.Gitlab(
            credentials.url,
            private_token=credentials.token,
            timeout=AGENT_LIST_TIMEOUT,
            retry_transient_errors=False,
            user_agent="kasboot-completion",
        )
        agents = client.http_list(
            f"/projects/{_quote(project)}/cluster_agents", get_all=True, per_page=100
        )
        return sorted(str(agent["name"]) for agent in agents)
    except Exception:  # completion stays silent whatever went wrong
        return []


def _quote(project: str) -> str:
    from urllib.parse import quote

    return quote(project, safe="")


def complete_agent_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    repo = ctx.params.get("repo") or os.environ.get("KASBOOT_REPO")
    names = agent_names_for(repo, Path.cwd(), dict(os.environ))
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def completion_script(shell: str, root: Any = None) -> str:
    from kasboot.cli import cli

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - SHELLS are click's own
        raise click.BadParameter(f"unsupported shell {shell!r}")
    return cls(root or cli, {}, PROG_NAME, COMPLETE_VAR).source()


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    \b
    bash:  eval "$(kasboot completion bash)"       (in ~/.bashrc)
    zsh:   eval "$(kasboot completion zsh)"        (in ~/.zshrc)
    fish:  kasboot completion fish | source        (in ~/.config/fish/config.fish)

    Agent names complete from GitLab (the project as -R, the clone or KASBOOT_PROJECT;
    the token as for bootstrap), kube contexts from kubeconfig.
    """
    click.echo(completion_script(shell), nl=False)
