"""Where the seed options' proxy URLs may come from (their flags are declared with the
others in kasboot.option_specs).

A proxy URL with credentials is refused as a flag and from a config file: argv is
readable by every local user and lands in shell history, and a config file may be
committed. It is accepted from the environment (KASBOOT_HTTPS_PROXY, KASBOOT_HTTP_PROXY)
only; see kasboot.seed_options for where it then goes (a Secret, never git)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kasboot.errors import UsageError
from kasboot.seed_input import proxy_has_credentials

PROXY_FLAGS = {"https_proxy": "--https-proxy", "http_proxy": "--http-proxy"}


def check_proxy_sources(
    params: Mapping[str, Any], from_file: Mapping[str, Any], config_path: object
) -> None:
    """Refuse a proxy URL with credentials given as a flag or in the config file (the
    click context says whether a value came from the command line or the environment)."""
    import click
    from click.core import ParameterSource

    ctx = click.get_current_context(silent=True)
    for name, flag in PROXY_FLAGS.items():
        value = from_file.get(name)
        given = params.get(name)
        on_command_line = (
            ctx is not None
            and ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE
            and isinstance(given, str)
            and proxy_has_credentials(given)
        )
        if on_command_line:
            raise UsageError(
                f"{flag} holds credentials, which a flag would show to every local user",
                hint=f"export KASBOOT_{name.upper()}=URL instead (kasboot keeps it in a "
                "Kubernetes Secret, never in git)",
            )
        if isinstance(value, str) and proxy_has_credentials(value):
            raise UsageError(
                f"{flag.lstrip('-')} in config file {config_path} holds credentials, which a "
                "committed file would leak",
                hint=f"remove it there and export KASBOOT_{name.upper()}=URL instead",
            )
