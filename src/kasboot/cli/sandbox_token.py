"""``kasboot sandbox token``: mint another personal access token in a running sandbox,
with the scopes you choose, to try how kasboot answers a token it cannot use (a
``read_api`` token is refused in pre-flight, exit 3). The emulator's control route
``POST /-/sandbox/personal_access_tokens`` does the minting."""

from __future__ import annotations

import json
import shlex
import urllib.error
import urllib.request
from pathlib import Path

import click

from kasboot.errors import ExitCode, UsageError

SCOPES = ("api", "read_api", "read_user", "read_repository", "write_repository", "k8s_proxy")
USER = "root"  # the sandbox's seeded user


def mint(gitlab_url: str, scopes: list[str], name: str) -> str:
    body = json.dumps({"username": USER, "name": name, "scopes": scopes}).encode()
    request = urllib.request.Request(
        f"{gitlab_url}/-/sandbox/personal_access_tokens", data=body, method="POST"
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["token"])


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".kasboot-sandbox"),
    show_default=True,
    help="The sandbox's directory.",
)
@click.option(
    "--scopes",
    default="api",
    show_default=True,
    help=f"Comma-separated scopes of the new token ({', '.join(SCOPES)}).",
)
@click.option("--name", default="sandbox", show_default=True, help="The token's name.")
def token(directory: Path, scopes: str, name: str) -> None:
    """Mint a personal access token with other scopes; print its export line.

    \b
    Examples:
      eval "$(kasboot sandbox token --scopes read_api)"
      kasboot bootstrap my-agent --manifest-path clusters/sandbox/gitlab-agent  # exit 3
    """
    from kasboot.cli.sandbox import running_gitlab_url

    wanted = [scope.strip() for scope in scopes.split(",") if scope.strip()]
    unknown = [scope for scope in wanted if scope not in SCOPES]
    if not wanted or unknown:
        raise UsageError(f"invalid --scopes {scopes!r}", hint=f"choose from: {', '.join(SCOPES)}")
    gitlab_url = running_gitlab_url(directory.resolve())
    try:
        minted = mint(gitlab_url, wanted, name)
    except (urllib.error.URLError, OSError, ValueError, KeyError) as error:
        click.echo(f"Error: the sandbox's GitLab did not mint a token: {error}", err=True)
        raise SystemExit(int(ExitCode.CLUSTER)) from None
    click.echo(f"export GITLAB_TOKEN={shlex.quote(minted)}")
