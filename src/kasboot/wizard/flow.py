"""The interactive bootstrap: questionary prompts, each with a detected default and the
same checks `kasboot bootstrap` applies, then a review (the answers, the dry-run plan
and the equivalent command line) before anything is written. Each answer is asked
once: a verdict that is good needs no second confirmation, and a layout no manifest
path can cure is offered only the fixes that cure it."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import questionary

from kasboot.credentials import gitlab_credentials, normalise_url
from kasboot.errors import GitLabError, UsageError, printed_line
from kasboot.settings import FIXES, SETTINGS_FIELDS, Settings, build_settings
from kasboot.steps.context import BootstrapContext
from kasboot.wizard.discovery import (
    GuardVerdict,
    WizardGitLab,
    baseline_settings,
    collision,
    flux_sources,
    guard_verdict,
    guess_gitlab,
    kube_contexts,
    kustomization_paths,
    names_taken,
    open_probe,
    resolve_presets,
)
from kasboot.wizard.model import (
    check_agent_name,
    check_option,
    check_project_path,
    check_with,
    command_line,
    default_manifest_path,
    default_release_names,
    equivalent_args,
    order_contexts,
    pick_source,
    suggest_agent_name,
)
from kasboot.wizard.prompts import ask_confirm, ask_select, ask_text, reading, say
from kasboot.wizard.reach import (
    ask_flux_environment_agent,
    ask_seed_options,
    say_shared_flux,
)
from kasboot.wizard.review import answers_review, apply, next_step, show_plan

FIX_TITLES = {
    "add-kustomization": "--fix add-kustomization: commit a kustomization.yaml listing what "
    "Flux applies today",
    "sourceignore": "--fix sourceignore: commit a root .sourceignore excluding /.gitlab/",
}
PATH_CHOICE = "path"
STOP_CHOICE = "stop"


def with_fields(settings: Settings, **changes: Any) -> Settings:
    """Settings with some answers changed, through the same gate as every run."""
    values = {f: getattr(settings, f) for f in SETTINGS_FIELDS}
    values.update(changes)
    return build_settings(**values)


class Wizard:
    def __init__(self, params: Mapping[str, Any]) -> None:
        self.presets = resolve_presets(params)
        self.settings = self.presets.settings
        self.env_prefix: dict[str, str] = {}

    def preset(self, field: str) -> bool:
        return field in self.presets.explicit

    # -- GitLab ------------------------------------------------------------------

    def ask_gitlab(self) -> tuple[WizardGitLab, str]:
        guess = guess_gitlab(Path.cwd(), os.environ)
        url = normalise_url(
            ask_text("GitLab host:", guess.url, check_with(lambda t: normalise_url(t)))
        )
        project = ask_text(
            "GitLab project (group/project):",
            (self.settings.repo if self.preset("repo") else guess.project) or "",
            check_project_path,
        )
        if url != guess.url:
            # The run reads the host from the environment: carry the answer there.
            os.environ["GITLAB_HOST"] = url
            self.env_prefix["GITLAB_HOST"] = url
        credentials = gitlab_credentials(host_hint=url, env={**os.environ, "GITLAB_HOST": url})
        say(f"  token from {credentials.source}", style="bright_black")
        return WizardGitLab.for_credentials(credentials), project.strip("/")

    # -- agent and cluster ---------------------------------------------------------

    def ask_context(self) -> str | None:
        names, current = kube_contexts(self.settings.kubeconfig)
        if self.preset("context") or not names:
            return self.settings.context
        ordered = order_contexts(names, current)
        if len(ordered) == 1:
            say(f"Kube context: {ordered[0]} (the only one in kubeconfig)")
            return None
        titles = {n: f"{n} (current)" if n == current else n for n in ordered}
        chosen = ask_select("Kube context:", titles, ordered[0])
        return None if chosen == current else chosen

    def ask_agent(self, existing: Sequence[str], context: str | None) -> str:
        if context is None:
            context = kube_contexts(self.settings.kubeconfig)[1]
        default = self.presets.agent or suggest_agent_name(context, existing)
        message = "Agent name (new, or an existing one to re-bootstrap):"
        if not existing:  # autocomplete needs something to offer
            return ask_text(message, default, check_agent_name)
        say(f"Agents in this project: {', '.join(existing)}")
        answer = questionary.autocomplete(
            message, choices=list(existing), default=default, validate=check_agent_name
        ).unsafe_ask()
        return str(answer).strip()

    # -- Flux --------------------------------------------------------------------

    def ask_flux_source(self, ctx: BootstrapContext, project: str) -> None:
        sources = flux_sources(ctx.cluster)
        if not sources or self.preset("flux_source_name"):
            return
        picked = pick_source(sources, project) or sources[0]
        if len(sources) > 1:
            titles = {s.ref: f"{s.ref}  {s.url}" for s in sources}
            ref = ask_select("Flux source that syncs this project:", titles, picked.ref)
            picked = next(s for s in sources if s.ref == ref)
        else:
            say(f"Flux source: {picked.ref} ({picked.url})")
        self.settings = with_fields(
            self.settings,
            flux_source_type=picked.type,
            flux_source_namespace=picked.namespace,
            flux_source_name=picked.name,
        )
        ctx.settings = self.settings

    def ask_manifest_path(self, ctx: BootstrapContext, gitlab: WizardGitLab) -> None:
        with reading("Reading what Flux applies from this project"):
            paths = kustomization_paths(ctx)
        if paths:
            say(f"Flux applies: {', '.join(paths)}")
        candidate = default_manifest_path(paths, self.settings.agent)
        default = self.settings.manifest_path if self.preset("manifest_path") else candidate
        while True:
            path = ask_text(
                "Manifest path (directory for the Flux Helm resources):",
                default,
                check_option("manifest_path"),
            )
            verdict = self.try_path(ctx, gitlab, path, ())
            say(("✔ " if verdict.ok else "✖ ") + verdict.text)
            if verdict.ok:
                return
            if not verdict.about_layout and verdict.error is not None:
                raise verdict.error  # no path can cure it: exit 3, nothing written
            choices = self.remedies(ctx, gitlab, path, candidate)
            choice = ask_select(
                "The topology guard refuses this layout. How to go on?",
                choices,
                next(iter(choices)),
            )
            if choice == STOP_CHOICE:
                assert verdict.error is not None
                raise verdict.error
            if choice == PATH_CHOICE:
                default = candidate if candidate != path else path
                continue
            verdict = self.try_path(ctx, gitlab, path, tuple(choice.split(",")))
            say(("✔ " if verdict.ok else "✖ ") + verdict.text)
            return

    def try_path(
        self, ctx: BootstrapContext, gitlab: WizardGitLab, path: str, fixes: tuple[str, ...]
    ) -> GuardVerdict:
        self.settings = with_fields(self.settings, manifest_path=path, fix=fixes)
        self.default_names(ctx, gitlab)
        ctx.settings = self.settings
        with reading("Checking the layout with the topology guard"):
            return guard_verdict(ctx)

    def remedies(
        self, ctx: BootstrapContext, gitlab: WizardGitLab, path: str, candidate: str
    ) -> dict[str, str]:
        """Only what works: each --fix (or both) that the guard accepts for `path`, and
        another path when the suggested one passes (never on a root-path layout, where
        every path fails alike) — then a way out. Leaves the settings at `path`."""
        choices: dict[str, str] = {}
        for fixes in ((fix,) for fix in FIXES):
            if self.try_path(ctx, gitlab, path, fixes).ok:
                choices[",".join(fixes)] = FIX_TITLES[fixes[0]]
        if not choices and self.try_path(ctx, gitlab, path, FIXES).ok:
            choices[",".join(FIXES)] = "--fix add-kustomization --fix sourceignore: both"
        if candidate != path and self.try_path(ctx, gitlab, candidate, ()).ok:
            choices[PATH_CHOICE] = f"choose another manifest path (e.g. {candidate})"
        choices[STOP_CHOICE] = "stop here (nothing written)"
        self.try_path(ctx, gitlab, path, ())
        return choices

    def default_names(self, ctx: BootstrapContext, gitlab: WizardGitLab) -> None:
        if any(
            self.preset(f)
            for f in ("helm_release_name", "helm_release_target_namespace", "helm_repository_name")
        ):
            return
        names = default_release_names(self.settings.agent, names_taken(ctx, gitlab, self.settings))
        self.settings = with_fields(self.settings, **dataclasses.asdict(names))

    # -- Helm release ----------------------------------------------------------------

    def ask_release(self, ctx: BootstrapContext, gitlab: WizardGitLab) -> None:
        while True:
            s = self.settings
            name = ask_text(
                "Helm release name:", s.helm_release_name, check_option("helm_release_name")
            )
            namespace = ask_text(
                "HelmRelease namespace:",
                s.helm_release_namespace,
                check_option("helm_release_namespace"),
            )
            target = ask_text(
                "Namespace agentk runs in:",
                s.helm_release_target_namespace,
                check_option("helm_release_target_namespace"),
            )
            self.settings = with_fields(
                s,
                helm_release_name=name,
                helm_release_namespace=namespace,
                helm_release_target_namespace=target,
            )
            clash = collision(ctx, gitlab, self.settings)
            if clash is None:
                return
            say(f"! {clash}", style="yellow")
            if ask_confirm("Use these names anyway?", False):
                return

    # -- the rest --------------------------------------------------------------------

    def ask_environments(self) -> None:
        s = self.settings
        wanted = ask_confirm(
            "Create GitLab environments (dashboards) for the agent and Flux?",
            s.create_environment or s.create_flux_environment,
        )
        self.settings = with_fields(s, create_environment=wanted, create_flux_environment=wanted)

    def ask_advanced(self, shared_with: str | None = None) -> None:
        if not ask_confirm(
            "Customise advanced options (values files, CA certificate, proxy, RBAC, agent "
            "version)?",
            False,
        ):
            return
        s = self.settings
        files = ask_text(
            "Helm values files (comma-separated, empty for none):",
            ",".join(str(p) for p in s.helm_release_values),
            check_option("helm_release_values"),
        )
        ca_cert = ask_text(
            "PEM file of the CA that signed KAS's certificate (empty for none):",
            str(s.kas_ca_cert or ""),
            lambda t: True if not t.strip() else check_option("kas_ca_cert")(t),
        )
        seeds = ask_seed_options(s)  # proxy, RBAC, replicas: flags (option_specs.SEED_SPECS)
        version = ask_text(
            "agentk version (empty: the GitLab instance's KAS version):",
            s.agent_version or "",
            lambda t: True if not t.strip() else check_option("agent_version")(t),
        )
        if shared_with is not None:
            seeds["flux_environment_agent"] = ask_flux_environment_agent(s, shared_with)
        values = [v for v in files.split(",") if v.strip()]
        self.settings = with_fields(
            s,
            helm_release_values=tuple(values),
            kas_ca_cert=ca_cert or None,
            agent_version=version or None,
            **seeds,
        )

    # -- review and run ----------------------------------------------------------------

    def final_args(self) -> list[str]:
        settings = self.settings
        baseline = baseline_settings(settings.agent, self.presets.config)
        args = equivalent_args(settings, baseline)
        if self.presets.config is not None:
            args += ["--config", str(self.presets.config)]
        return args

    def review_and_run(self, gitlab_url: str) -> None:
        say()
        say("Review: your answers", style="cyan")
        for line in answers_review(self.settings, gitlab_url, self.settings.context):
            say(line)
        say()
        say("Review: the plan (nothing has been written)", style="cyan")
        from kasboot.ui.plan import pending_changes

        planned = show_plan(self.settings)
        args = self.final_args()
        say()
        say("Equivalent command (repeats this bootstrap without questions, e.g. in CI):")
        say("  " + command_line(args, self.env_prefix), style="green")
        say()
        if not pending_changes(planned.reports):
            next_step(self.settings, self.env_prefix)
            return
        if not ask_confirm("Apply these changes now?", True):
            say("Nothing written.")
            return
        apply(self.settings)
        self.offer_to_save()
        next_step(self.settings, self.env_prefix)

    def offer_to_save(self) -> None:
        """Offer the answers as .kasboot.yaml, so the next run starts from them."""
        from kasboot.wizard.save import answers, config_target, save_answers

        settings = self.settings
        saved = answers(settings, baseline_settings(settings.agent, self.presets.config))
        if not saved:
            return
        target = self.presets.config or config_target(Path.cwd())
        say()
        if not ask_confirm(f"Save these answers to {target} ({', '.join(sorted(saved))})?", False):
            return
        save_answers(Path(target), saved)
        say(f"Saved to {target}; later runs here start from it (flags still win).")

    def run(self) -> None:
        while True:  # a host that does not answer (or a project not found) is asked again
            gitlab, project = self.ask_gitlab()
            try:
                with reading(f"Reading the agents of {project}"):
                    existing = gitlab.agent_names(project)
                break
            except GitLabError as error:
                say(f"✖ {printed_line(error)}", style="red")
                say("Try another host or project (Ctrl-C to stop).")
        context = self.ask_context()
        agent = self.ask_agent(existing, context)
        self.settings = with_fields(self.settings, agent=agent, repo=project, context=context)
        with reading("Reading the cluster's Flux setup"):
            ctx = open_probe(self.settings, gitlab, project)
            self.ask_flux_source(ctx, project)
        self.ask_manifest_path(ctx, gitlab)
        self.ask_release(ctx, gitlab)
        self.ask_environments()
        shared = say_shared_flux(ctx, self.settings)  # another agent's Flux: said, kept
        self.ask_advanced(shared)
        self.review_and_run(gitlab.url)


def run_wizard(params: Mapping[str, Any]) -> None:
    """Ask, review, run. `params` as click parsed them (flags or KASBOOT_* variables)
    preset the answers' defaults."""
    try:
        Wizard(params).run()
    except EOFError:
        raise UsageError("input closed before the wizard finished: nothing written") from None
