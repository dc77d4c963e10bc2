"""Seam: the few GitLab calls kasboot makes, in kasboot's words.

python-gitlab underneath (imported lazily: it is heavy), with its own retry of
429/5xx (honouring Retry-After). Errors come out as GitLabError carrying
GitLab's own message and exit code 4; nothing here prints."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from kasboot import __version__
from kasboot.errors import GitLabError

if TYPE_CHECKING:
    import gitlab
    from gitlab.v4.objects import Project

USER_AGENT = f"kasboot/{__version__}"
RequestLogger = Callable[[str, str, int, float], None]


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    path: str
    default_branch: str
    http_url: str
    web_url: str


@dataclass(frozen=True)
class RepoFile:
    path: str
    content: bytes
    last_commit_id: str

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")


@dataclass(frozen=True)
class CommitAction:
    action: str  # create | update | delete
    path: str
    content: str | None = None
    last_commit_id: str | None = None

    def as_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"action": self.action, "file_path": self.path}
        if self.content is not None:
            body["content"] = self.content
        if self.last_commit_id:
            body["last_commit_id"] = self.last_commit_id
        return body


@dataclass(frozen=True)
class NewToken:
    id: int
    name: str
    secret: str  # never printed; lives only in memory until it is in the cluster Secret

    def __repr__(self) -> str:
        return f"NewToken(id={self.id}, name={self.name!r}, secret=<redacted>)"


def _message_of(error: Exception) -> str:
    message = getattr(error, "error_message", None) or str(error)
    if isinstance(message, dict):
        message = "; ".join(f"{key} {', '.join(map(str, value))}" for key, value in message.items())
    return str(message)


class GitLabAPI:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        request_logger: RequestLogger | None = None,
        timeout: float = 30.0,
    ) -> None:
        import gitlab
        import requests

        self.url = url.rstrip("/")
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        if request_logger is not None:

            def log_response(response: Any, *args: Any, **kwargs: Any) -> None:
                request_logger(
                    response.request.method,
                    response.request.url,
                    response.status_code,
                    response.elapsed.total_seconds(),
                )

            session.hooks["response"].append(log_response)
        self._gl: gitlab.Gitlab = gitlab.Gitlab(
            self.url,
            private_token=token,
            session=session,
            timeout=timeout,
            retry_transient_errors=True,
            user_agent=USER_AGENT,
        )
        self._projects: dict[str, Project] = {}
        # One run reads a file at most once (pre-flight and the steps share reads); a
        # commit empties the cache.
        self._files: dict[tuple[str, str, str], RepoFile | None] = {}

    # -- error translation -------------------------------------------------

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        import gitlab
        import requests

        try:
            yield
        except gitlab.exceptions.GitlabAuthenticationError as error:
            raise GitLabError(
                f"GitLab refused the token while {doing}: {_message_of(error)}",
                hint="set GITLAB_TOKEN to a valid personal access token with the 'api' scope",
                status=401,
            ) from error
        except gitlab.exceptions.GitlabError as error:
            status = error.response_code
            hint = None
            if status == 403:
                hint = "the token needs the 'api' scope and the Maintainer role on the project"
            raise GitLabError(
                f"GitLab said {status} while {doing}: {_message_of(error)}",
                hint=hint,
                status=status,
            ) from error
        except requests.exceptions.RequestException as error:
            raise GitLabError(
                f"cannot reach GitLab at {self.url} while {doing}: {type(error).__name__}",
                hint="check GITLAB_HOST and your network",
            ) from error

    def _project(self, path: str) -> Project:
        if path not in self._projects:
            with self._errors(f"reading project {path}"):
                self._projects[path] = self._gl.projects.get(path)
        return self._projects[path]

    # -- reads -------------------------------------------------------------

    def current_user(self) -> dict[str, Any]:
        with self._errors("checking the token"):
            self._gl.auth()
            assert self._gl.user is not None
            return dict(self._gl.user.attributes)

    def version(self) -> dict[str, Any]:
        with self._errors("reading GitLab's version"):
            return dict(self._gl.http_get("/version"))  # type: ignore[arg-type]

    def metadata(self) -> dict[str, Any]:
        with self._errors("reading GitLab's metadata"):
            return dict(self._gl.http_get("/metadata"))  # type: ignore[arg-type]

    def project(self, path: str) -> ProjectInfo:
        project = self._project(path)
        return ProjectInfo(
            id=int(project.id),
            path=str(project.path_with_namespace),
            default_branch=str(project.default_branch or "main"),
            http_url=str(project.http_url_to_repo),
            web_url=str(project.web_url),
        )

    def branch_head(self, project: str, branch: str) -> str | None:
        import gitlab

        with self._errors(f"reading branch {branch}"):
            try:
                return str(self._project(project).branches.get(branch).commit["id"])
            except gitlab.exceptions.GitlabGetError as error:
                if error.response_code == 404:
                    return None
                raise

    def get_file(self, project: str, path: str, ref: str) -> RepoFile | None:
        key = (project, path, ref)
        if key not in self._files:
            self._files[key] = self._read_file(project, path, ref)
        return self._files[key]

    def _read_file(self, project: str, path: str, ref: str) -> RepoFile | None:
        import gitlab

        with self._errors(f"reading {path}"):
            try:
                found = self._project(project).files.get(file_path=path, ref=ref)
            except gitlab.exceptions.GitlabGetError as error:
                if error.response_code == 404:
                    return None
                raise
            return RepoFile(path, base64.b64decode(found.content), str(found.last_commit_id))

    def tree(self, project: str, ref: str, path: str = "") -> list[str]:
        """Every blob path under ``path`` at ``ref`` (recursive, all pages)."""
        import gitlab

        with self._errors("reading the repository tree"):
            try:
                entries = self._project(project).repository_tree(
                    path=path, ref=ref, recursive=True, get_all=True, per_page=100
                )
            except gitlab.exceptions.GitlabGetError as error:
                if error.response_code == 404:
                    return []
                raise
            return [str(entry["path"]) for entry in entries if entry["type"] == "blob"]

    # -- agents and tokens ---------------------------------------------------

    def find_agent(self, project: str, name: str) -> dict[str, Any] | None:
        # The REST API has no name filter: page through all agents, 100 at a time.
        with self._errors("listing agents"):
            for agent in self._project(project).cluster_agents.list(iterator=True, per_page=100):
                if agent.name == name:
                    return dict(agent.attributes)
        return None

    def register_agent(self, project: str, name: str) -> dict[str, Any]:
        with self._errors(f"registering agent {name}"):
            agent = self._project(project).cluster_agents.create({"name": name})
            return dict(agent.attributes)

    def _tokens_path(self, project: str, agent_id: int) -> str:
        project_id = self._project(project).id
        return f"/projects/{project_id}/cluster_agents/{agent_id}/tokens"

    def active_tokens(self, project: str, agent_id: int) -> list[dict[str, Any]]:
        with self._errors("listing agent tokens"):
            return [
                dict(token)
                for token in self._gl.http_list(
                    self._tokens_path(project, agent_id), get_all=True, per_page=100
                )
            ]

    def get_token(self, project: str, agent_id: int, token_id: int) -> dict[str, Any] | None:
        """One token with ``last_used_at``; None when revoked (GitLab answers 404)."""
        import gitlab

        with self._errors("reading an agent token"):
            try:
                return dict(
                    self._gl.http_get(f"{self._tokens_path(project, agent_id)}/{token_id}")  # type: ignore[arg-type]
                )
            except gitlab.exceptions.GitlabHttpError as error:
                if error.response_code == 404:
                    return None
                raise

    def create_token(self, project: str, agent_id: int, name: str, description: str) -> NewToken:
        with self._errors("creating an agent token"):
            created: Any = self._gl.http_post(
                self._tokens_path(project, agent_id),
                post_data={"name": name, "description": description},
            )
            return NewToken(
                id=int(created["id"]), name=str(created["name"]), secret=created["token"]
            )

    def revoke_token(self, project: str, agent_id: int, token_id: int) -> None:
        with self._errors(f"revoking agent token {token_id}"):
            self._gl.http_delete(f"{self._tokens_path(project, agent_id)}/{token_id}")

    # -- environments ------------------------------------------------------

    def find_environment(self, project: str, name: str) -> dict[str, Any] | None:
        with self._errors(f"looking up environment {name}"):
            for environment in self._project(project).environments.list(
                name=name, iterator=True, per_page=100
            ):
                if environment.name == name:
                    return dict(environment.attributes)
        return None

    def create_environment(self, project: str, fields: dict[str, Any]) -> dict[str, Any]:
        with self._errors(f"creating environment {fields.get('name')}"):
            return dict(self._project(project).environments.create(fields).attributes)

    def update_environment(self, project: str, environment_id: int, fields: dict[str, Any]) -> None:
        with self._errors(f"updating environment {environment_id}"):
            self._project(project).environments.update(environment_id, fields)

    # -- commits -----------------------------------------------------------

    def commit(
        self,
        project: str,
        *,
        branch: str,
        message: str,
        actions: list[CommitAction],
        author_name: str | None,
        author_email: str | None,
    ) -> str:
        body: dict[str, Any] = {
            "branch": branch,
            "commit_message": message,
            "actions": [action.as_api() for action in actions],
        }
        if author_name:
            body["author_name"] = author_name
        if author_email:
            body["author_email"] = author_email
        self._files.clear()
        with self._errors(f"committing {len(actions)} file(s) to {branch}"):
            return str(self._project(project).commits.create(body).id)

    # -- doctor and status ---------------------------------------------------

    def token_self(self) -> dict[str, Any] | None:
        """The personal access token in use (``scopes``, ``expires_at``, ``active``), from
        ``GET /personal_access_tokens/self``; None when the token is not a personal (or
        project/group) access token, which GitLab answers with 404."""
        import gitlab

        with self._errors("reading the token's scopes"):
            try:
                return dict(self._gl.http_get("/personal_access_tokens/self"))  # type: ignore[arg-type]
            except gitlab.exceptions.GitlabHttpError as error:
                if error.response_code == 404:
                    return None
                raise

    def metadata_once(self) -> dict[str, Any]:
        """GitLab's /metadata in ONE attempt: a GitLab that is down is reported at once,
        not after python-gitlab's back-off on connection errors (about 100 s)."""
        with self._errors("reading GitLab's metadata"):
            return dict(self._gl.http_get("/metadata", retry_transient_errors=False))  # type: ignore[arg-type]

    def project_access_level(self, project: str) -> int | None:
        """The caller's role on the project (10 guest … 40 maintainer, 50 owner), the
        higher of its project and group membership; None when GitLab does not say."""
        permissions = getattr(self._project(project), "permissions", None) or {}
        levels = [
            int(access["access_level"])
            for access in (permissions.get("project_access"), permissions.get("group_access"))
            if isinstance(access, dict) and access.get("access_level") is not None
        ]
        return max(levels) if levels else None

    def list_agents(self, project: str) -> list[dict[str, Any]]:
        """Every agent registered in the project (all pages)."""
        with self._errors("listing agents"):
            return [
                dict(agent.attributes)
                for agent in self._project(project).cluster_agents.list(iterator=True, per_page=100)
            ]

    # -- token rotation and uninstall ----------------------------------------

    def stop_environment(self, project: str, environment_id: int) -> None:
        """Stop an environment (GitLab deletes only stopped ones) with ``force=true``:
        without it GitLab runs the environment's ``on_stop`` jobs, which are not ours."""
        project_id = self._project(project).id
        with self._errors(f"stopping environment {environment_id}"):
            self._gl.http_post(
                f"/projects/{project_id}/environments/{environment_id}/stop",
                query_data={"force": "true"},
            )

    def list_environments(self, project: str) -> list[dict[str, Any]]:
        """Every environment of the project (all pages)."""
        with self._errors("listing environments"):
            return [
                dict(environment.attributes)
                for environment in self._project(project).environments.list(
                    iterator=True, per_page=100
                )
            ]

    def delete_environment(self, project: str, environment_id: int) -> None:
        with self._errors(f"deleting environment {environment_id}"):
            self._project(project).environments.delete(environment_id)

    def delete_agent(self, project: str, agent_id: int) -> None:
        """Delete the agent registration (GitLab revokes its tokens with it)."""
        with self._errors(f"deleting agent {agent_id}"):
            self._project(project).cluster_agents.delete(agent_id)


def quote_path(path: str) -> str:
    return quote(path, safe="")
