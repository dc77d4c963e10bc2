"""`kasboot render AGENT`: print the Flux HelmRepository and HelmRelease that bootstrap
would commit, like `flux create … --export` — nothing is written anywhere."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from kasboot.cli.completion import complete_agent_names
from kasboot.cli.help import KasbootCommand
from kasboot.cli.options import command_options, settings_from_click
from kasboot.steps.manifests import agent_image_tag, enabled_kas_address


@click.command(
    cls=KasbootCommand,
    examples=(
        "kasboot render prod -p clusters/prod/gitlab-agent",
        "# offline: no GitLab request",
        "kasboot render prod --kas-address wss://kas.gitlab.example.com --kas-version 17.6.0",
        "kasboot render prod -o json | jq -r '.files | keys[]'",
    ),
)
@click.argument("agent", envvar="KASBOOT_AGENT", shell_complete=complete_agent_names)
@click.option(
    "--kas-address",
    default=None,
    envvar="KASBOOT_KAS_ADDRESS",
    show_envvar=True,
    help="KAS URL for config.kasAddress (default: read from GitLab's /metadata).",
)
@click.option(
    "--kas-version",
    default=None,
    envvar="KASBOOT_KAS_VERSION",
    show_envvar=True,
    help="KAS version to pin image.tag to when --kas-address is given (default: unpinned).",
)
@command_options("render")
def render(agent: str, kas_address: str | None, kas_version: str | None, **params: Any) -> None:
    """Print the manifests bootstrap would commit for AGENT (to stdout, as YAML).

    With -o json: one document whose `files` maps each path to its YAML text.
    """
    from kasboot.flux.render import render_manifests

    config_file = params.pop("config", None)
    settings = settings_from_click(
        {"agent": agent, **params}, Path(config_file) if config_file else None
    )
    gitlab_url: str | None = None
    if kas_address is None:
        from kasboot.cluster_transport import Deadline
        from kasboot.credentials import gitlab_credentials
        from kasboot.gitlab_api import GitLabAPI
        from kasboot.localrepo import resolve_project

        _, host = resolve_project(settings.repo, Path.cwd(), dict(os.environ))
        credentials = gitlab_credentials(host_hint=host)
        gitlab = GitLabAPI.for_credentials(credentials, ca_file=settings.ca_file)
        gitlab.bound_run(Deadline(settings.timeout), settings.timeout)
        gitlab_url = gitlab.url
        kas = gitlab.metadata().get("kas") or {}
        kas_address = enabled_kas_address(kas)
        kas_version = kas_version or kas.get("version")
    tag = agent_image_tag(settings, kas_version, gitlab_url)
    ca_cert = settings.kas_ca_cert.read_text() if settings.kas_ca_cert else None
    owner = _owner(settings)
    files = render_manifests(
        settings, kas_address=kas_address, image_tag=tag, kas_ca_cert=ca_cert, owner=owner
    )
    if settings.output == "json":
        from kasboot.ui.jsonout import dumps, envelope

        project = owner.rsplit("/", 1)[0] if owner else None
        body = {
            "project": project,
            "agent": {"id": None, "name": settings.agent},
            "kas_address": kas_address,
            "image_tag": tag,
            "files": dict(files),
        }
        click.echo(dumps(envelope("render", body, exit_code=0)))
        return
    for path, text in files.items():
        click.echo(f"# {path}")
        click.echo(text, nl=False)


def _owner(settings: Any) -> str | None:
    """The ownership annotation bootstrap puts on the manifests (kasboot.ownership):
    "<project>/<agent>", when the project is known without asking GitLab."""
    from kasboot.errors import KasbootError
    from kasboot.localrepo import resolve_project

    try:
        project, _ = resolve_project(settings.repo, Path.cwd(), dict(os.environ))
    except KasbootError:
        return None
    return f"{project}/{settings.agent}"
