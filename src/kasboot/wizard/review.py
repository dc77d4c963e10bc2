"""The wizard's last part: the answers reviewed, the plan (the library's dry run, shown
as `kasboot plan` shows it), the equivalent command line, the run itself and the next
step. Everything goes through bootstrap.run_bootstrap, as any library client would."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping

from kasboot.bootstrap import BootstrapRun, run_bootstrap
from kasboot.settings import Settings
from kasboot.wizard.prompts import say


def answers_review(settings: Settings, gitlab_url: str, context: str | None) -> list[str]:
    """The answers, one per line, as the user gave them (defaults included)."""
    s = settings
    wanted = ((s.create_environment, s.env_name), (s.create_flux_environment, s.flux_env_name))
    environments = [name for create, name in wanted if create and name]
    rows = [
        ("GitLab", gitlab_url),
        ("project", s.repo or "-"),
        ("kube context", context or "the current context"),
        ("agent", s.agent),
        ("Flux source", f"{s.flux_source_type} {s.flux_source_namespace}/{s.flux_source_name}"),
        ("manifest path", s.manifest_path or "(repository root)"),
        ("fixes", ", ".join(s.fix) or "none"),
        (
            "Helm release",
            f"{s.helm_release_namespace}/{s.helm_release_name}, agentk in namespace "
            f"{s.helm_release_target_namespace}",
        ),
        ("HelmRepository", f"{s.helm_repository_namespace}/{s.helm_repository_name}"),
        ("environments", ", ".join(environments) or "none"),
    ]
    if s.helm_release_values:
        rows.append(("values files", ", ".join(str(p) for p in s.helm_release_values)))
    if s.kas_ca_cert:
        rows.append(("KAS CA", str(s.kas_ca_cert)))
    if s.agent_version:
        rows.append(("agentk version", s.agent_version))
    return [f"  {label:<15} {value}" for label, value in rows]


def show_plan(settings: Settings) -> BootstrapRun:
    """The dry run: step list on stderr, the plan on stdout. Raises its error."""
    from kasboot.ui.console import ConsoleReporter, make_console
    from kasboot.ui.plan import print_plan
    from kasboot.ui.summary import bootstrap_summary

    planned = dataclasses.replace(settings, dry_run=True)
    run = run_bootstrap(planned, ConsoleReporter(changes_on_stdout=True))
    if run.error is not None:
        raise run.error
    summary = bootstrap_summary(run.outcome(), planned)
    print_plan(make_console(sys.stdout), run.reports, summary, planned)
    return run


def apply(settings: Settings) -> None:
    """The bootstrap itself, with the step list; raises its error (exit code and all)."""
    from kasboot.ui.console import ConsoleReporter
    from kasboot.ui.summary import bootstrap_summary

    run = run_bootstrap(settings, ConsoleReporter(verbose=settings.verbose))
    if run.error is not None:
        raise run.error
    say()
    for line in bootstrap_summary(run.outcome(), settings):
        say(line)


def next_step(settings: Settings, env_prefix: Mapping[str, str]) -> None:
    prefix = "".join(f"{name}={value} " for name, value in env_prefix.items())
    repo = f" -R {settings.repo}" if settings.repo else ""
    say()
    say(
        f"Next: `{prefix}kasboot status {settings.agent}{repo}` shows the agent at a glance; "
        f"`kasboot doctor {settings.agent}{repo}` explains anything that is wrong.",
        style="cyan",
    )
