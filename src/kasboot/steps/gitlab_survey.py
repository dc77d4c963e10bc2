"""Pre-flight's GitLab survey: what the steps need from GitLab, read in one request
(gitlab_api/survey.py), and how each step takes its part — the agent, its tokens, the
environments, and the files bootstrap writes, compared by blob id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kasboot.flux.paths import ancestors, parent_of

if TYPE_CHECKING:
    from kasboot.gitlab_api import RepoFile
    from kasboot.gitlab_api.survey import Survey
    from kasboot.steps.context import BootstrapContext

# Files of a directory that change what Flux's artifact holds (source-controller's
# .sourceignore) or what a GitLab archive of it holds (export-ignore, export-subst).
FILTER_FILES = (".sourceignore", ".gitattributes")


def written_paths(ctx: BootstrapContext) -> list[str]:
    settings = ctx.settings
    return [
        settings.agent_config_path,
        settings.helm_repository_path,
        settings.helm_release_path,
    ]


def filter_files_along(paths: list[str]) -> list[str]:
    """The .sourceignore and .gitattributes of every directory above ``paths``."""
    directories: list[str] = [""]
    for path in paths:
        folder = parent_of(path)
        for directory in [folder, *ancestors(folder)]:
            if directory not in directories:
                directories.append(directory)
    return [f"{d}/{name}" if d else name for d in directories for name in FILTER_FILES]


def environment_names(ctx: BootstrapContext) -> list[str]:
    settings = ctx.settings
    names = []
    if settings.create_environment:
        names.append(settings.env_name)
    if settings.create_flux_environment:
        names.append(settings.flux_env_name)
    return names


def run_survey(ctx: BootstrapContext) -> Survey | None:
    """The survey (None: this GitLab cannot answer it; the steps then use REST)."""
    paths = written_paths(ctx)
    survey = ctx.gitlab.survey(
        ctx.project_path,
        agent=ctx.settings.agent,
        environments=environment_names(ctx),
        branch=ctx.settings.manifest_branch or None,
        paths=paths,
        text_paths=filter_files_along(paths),
    )
    if survey is not None:
        ctx.gitlab.remember_survey(survey.project.path, survey, paths)
    ctx.gitlab_survey = survey
    return survey


def surveyed(ctx: BootstrapContext) -> Survey | None:
    survey: Survey | None = ctx.gitlab_survey
    if survey is None or survey.ref != ctx.branch:
        return None
    return survey


def surveyed_agent(ctx: BootstrapContext) -> tuple[bool, dict[str, Any] | None]:
    """(True, the agent or None) when the survey answered; (False, None) otherwise."""
    survey = ctx.gitlab_survey
    if survey is None:
        return False, None
    return True, survey.agent


def active_tokens(ctx: BootstrapContext, agent_id: int) -> list[dict[str, Any]]:
    """The agent's active tokens: none for an agent this run registered a moment ago,
    the survey's for the agent it found, else GitLab's list."""
    if agent_id in ctx.gitlab.registered_agent_ids:
        return []
    survey = ctx.gitlab_survey
    if survey is not None and survey.agent is not None and int(survey.agent["id"]) == agent_id:
        return list(survey.tokens)
    return ctx.gitlab.active_tokens(ctx.project_path, agent_id)


def token_detail(ctx: BootstrapContext, agent_id: int, token: dict[str, Any]) -> dict[str, Any]:
    """A token with ``last_used_at``: as listed when the list had it (the survey's),
    else read (the REST list leaves it out)."""
    if "last_used_at" in token:
        return token
    return ctx.gitlab.get_token(ctx.project_path, agent_id, int(token["id"])) or token


def known_token(ctx: BootstrapContext, agent_id: int, token_id: int) -> dict[str, Any] | None:
    """A token as this run already knows it (minted now, or in the survey), else read."""
    minted = ctx.gitlab.minted_tokens.get(token_id)
    if minted is not None:
        return dict(minted)
    survey = ctx.gitlab_survey
    if survey is not None and survey.agent is not None and int(survey.agent["id"]) == agent_id:
        found = survey.token(token_id)
        if found is not None:
            return found
    return ctx.gitlab.get_token(ctx.project_path, agent_id, token_id)


def surveyed_environment(ctx: BootstrapContext, name: str) -> tuple[bool, dict[str, Any] | None]:
    survey = ctx.gitlab_survey
    if survey is None or name not in survey.environments:
        return False, None
    return True, survey.environments[name]


def branch_file(ctx: BootstrapContext, path: str, wanted: str) -> tuple[RepoFile | None, bool]:
    """(the file on the branch, whether it is exactly ``wanted``), fetched only when its
    blob id says it differs."""
    return ctx.gitlab.file_unless_same(ctx.project_path, path, ctx.branch, wanted)
