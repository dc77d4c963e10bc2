"""The seam's writes. None is repeated blindly: a POST is sent once (python-gitlab's
retry is off for it), and when its answer is unclear — a 5xx, a dropped connection, a
timeout: GitLab may have acted — GitLab is read again (the agent or environment by
name, the token by its unique name, the branch head and the files) before deciding.
The same re-read turns a harmless create conflict with a concurrent identical run
("has already been taken", "A file with this name already exists") into success."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from kasboot.errors import GitLabError
from kasboot.gitlab_api.base import message_of
from kasboot.gitlab_api.model import CommitAction, NewToken
from kasboot.gitlab_api.repository import RepositoryReads

ONCE: dict[str, Any] = {"retry_transient_errors": False}
# Sends of one write whose answer stayed unclear (each followed by a re-read that found
# it had not happened) before the run gives up.
WRITE_ATTEMPTS = 6


def gave_up_error(doing: str, attempts: int, started: float, error: Exception) -> GitLabError:
    """The write kept getting unclear answers: say so, with the count and the time."""
    seconds = time.monotonic() - started
    return GitLabError(
        f"GitLab kept failing while {doing}: gave up after {attempts} attempts over "
        f"{seconds:.1f} s (last: {message_of(error)})",
        hint="GitLab (or the network to it) is failing: run the same command again later "
        "(it finishes the job), or raise --timeout",
        status=getattr(error, "response_code", None),
    )


def is_unclear(error: BaseException) -> bool:
    """True when a write may have happened although no success came back."""
    import gitlab
    import requests

    if isinstance(error, gitlab.exceptions.GitlabError):
        return int(error.response_code or 0) >= 500
    return isinstance(
        error,
        (
            requests.exceptions.ConnectionError,
            requests.exceptions.Timeout,
            requests.exceptions.ChunkedEncodingError,
        ),
    ) and not isinstance(error, (requests.exceptions.SSLError, requests.exceptions.ConnectTimeout))


def is_conflict(error: BaseException, *phrases: str) -> bool:
    import gitlab

    if not isinstance(error, gitlab.exceptions.GitlabError) or error.response_code != 400:
        return False
    text = message_of(error).lower()
    return any(phrase.lower() in text for phrase in phrases)


TAKEN = "has already been taken"
FILE_EXISTS = "A file with this name already exists"
# A stale last_commit_id (the file changed on the branch since it was read): GitLab's
# commit and file services' wordings.
FILE_STALE = ("has changed since you started editing it", "has been previously updated")


class Writes(RepositoryReads):
    # -- agents and tokens ---------------------------------------------------

    def _create_named(
        self,
        doing: str,
        create: Callable[[], dict[str, Any]],
        find: Callable[[], dict[str, Any] | None],
    ) -> dict[str, Any]:
        """Create an object GitLab keeps unique by name (an agent, an environment), sent
        once per attempt. On an unclear answer, or "has already been taken" (a concurrent
        run), look it up by name: found is done; not found after an unclear answer is
        sent again (GitLab refuses a second object of the name, so this never doubles)."""
        started = time.monotonic()
        with self._errors(doing):
            for attempt in range(1, WRITE_ATTEMPTS + 1):
                try:
                    return create()
                except Exception as error:
                    unclear = is_unclear(error)
                    if not (unclear or is_conflict(error, TAKEN)):
                        raise
                    found = find()
                    if found is not None:
                        return found
                    if not unclear:
                        raise
                    if attempt == WRITE_ATTEMPTS:
                        raise gave_up_error(doing, attempt, started, error) from error
        raise AssertionError("unreachable")

    def register_agent(self, project: str, name: str) -> dict[str, Any]:
        def create() -> dict[str, Any]:
            agent = self._project(project).cluster_agents.create({"name": name}, **ONCE)
            self.registered_agent_ids.add(int(agent.id))
            return dict(agent.attributes)

        return self._create_named(
            f"registering agent {name}", create, lambda: self.find_agent(project, name)
        )

    def create_token(self, project: str, agent_id: int, name: str, description: str) -> NewToken:
        """Mint a token under a name no other run uses. When the answer is lost, the
        token may exist with a secret nobody will ever see: it is found by that name and
        revoked (it would fill one of the agent's two slots), and one more is minted."""
        path = self._tokens_path(project, agent_id)
        started = time.monotonic()
        with self._errors("creating an agent token"):
            for attempt in range(1, WRITE_ATTEMPTS + 1):
                unique = f"{name}-{secrets.token_hex(3)}"
                try:
                    created: Any = self._gl.http_post(
                        path, post_data={"name": unique, "description": description}, **ONCE
                    )
                    known = {k: v for k, v in dict(created).items() if k != "token"}
                    self.minted_tokens[int(created["id"])] = known
                    return NewToken(
                        id=int(created["id"]), name=str(created["name"]), secret=created["token"]
                    )
                except Exception as error:
                    if not is_unclear(error):
                        raise
                    for orphan in self.active_tokens(project, agent_id):
                        if orphan.get("name") == unique:
                            self.revoke_token(project, agent_id, int(orphan["id"]))
                            self.revoked_orphans.append(int(orphan["id"]))
                    if attempt == WRITE_ATTEMPTS:
                        raise gave_up_error(
                            "creating an agent token", attempt, started, error
                        ) from error
        raise AssertionError("unreachable")

    def revoke_token(self, project: str, agent_id: int, token_id: int) -> None:
        """Revoke (idempotent: an already revoked or vanished token is done)."""
        import gitlab

        with self._errors(f"revoking agent token {token_id}"):
            try:
                self._gl.http_delete(f"{self._tokens_path(project, agent_id)}/{token_id}")
            except gitlab.exceptions.GitlabHttpError as error:
                if error.response_code != 404:
                    raise

    def delete_agent(self, project: str, agent_id: int) -> None:
        """Delete the agent registration (GitLab revokes its tokens with it). Idempotent:
        a 404 — the retry of a delete whose answer was lost, or a concurrent run's — is
        done."""
        import gitlab

        with self._errors(f"deleting agent {agent_id}"):
            try:
                self._project(project).cluster_agents.delete(agent_id)
            except gitlab.exceptions.GitlabDeleteError as error:
                if error.response_code != 404:
                    raise

    # -- environments ------------------------------------------------------

    def create_environment(self, project: str, fields: dict[str, Any]) -> dict[str, Any]:
        name = str(fields.get("name"))

        def create() -> dict[str, Any]:
            created = self._project(project).environments.create(fields, **ONCE)
            return dict(created.attributes)

        return self._create_named(
            f"creating environment {name}", create, lambda: self.find_environment(project, name)
        )

    def update_environment(
        self, project: str, environment_id: int, fields: dict[str, Any]
    ) -> dict[str, Any]:
        """PUT is idempotent: python-gitlab's retry may repeat it. Returns GitLab's answer
        (an old GitLab leaves out the fields it ignored)."""
        with self._errors(f"updating environment {environment_id}"):
            answer = self._project(project).environments.update(environment_id, fields)
            return dict(answer or {})

    def stop_environment(self, project: str, environment_id: int) -> None:
        """Stop an environment (GitLab deletes only stopped ones) with ``force=true``:
        without it GitLab runs the environment's ``on_stop`` jobs, which are not ours.
        Stopping a stopped environment changes nothing, so a retry is harmless."""
        project_id = self._project(project).id
        with (
            self._errors(f"stopping environment {environment_id}"),
            self._session.idempotent_post(),
        ):
            self._gl.http_post(
                f"/projects/{project_id}/environments/{environment_id}/stop",
                query_data={"force": "true"},
            )

    def delete_environment(self, project: str, environment_id: int) -> None:
        """Idempotent, as delete_agent: a 404 is done."""
        import gitlab

        with self._errors(f"deleting environment {environment_id}"):
            try:
                self._project(project).environments.delete(environment_id)
            except gitlab.exceptions.GitlabDeleteError as error:
                if error.response_code != 404:
                    raise

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
        expected_head: str | None = None,
    ) -> str:
        """ONE commit of ``actions``; its sha. ``expected_head`` is the branch head the
        actions were planned on: when the answer is lost, a head that moved to a tree
        holding exactly these files means the commit landed (or an identical run's did)."""
        body: dict[str, Any] = {
            "branch": branch,
            "commit_message": message,
            "actions": [action.as_api() for action in actions],
        }
        if author_name:
            body["author_name"] = author_name
        if author_email:
            body["author_email"] = author_email
        doing = f"committing {len(actions)} file(s) to {branch}"
        started = time.monotonic()
        with self._errors(doing):
            for attempt in range(1, WRITE_ATTEMPTS + 1):
                self._files.clear()
                self._blob_ids.clear()
                try:
                    return str(self._project(project).commits.create(body, **ONCE).id)
                except Exception as error:
                    unclear = is_unclear(error)
                    if not (unclear or is_conflict(error, FILE_EXISTS, *FILE_STALE)):
                        raise
                    head = self.branch_head(project, branch)
                    if head is not None and head != expected_head:
                        if self._holds(project, head, actions):
                            return head
                        if unclear:
                            raise
                        raise GitLabError(
                            f"the branch {branch} moved on while this run prepared its "
                            f"commit (now at {head[:12]}: another run or a push changed "
                            f"these files meanwhile; GitLab: {message_of(error)}); nothing "
                            "of this commit was written",
                            hint="run the same command again: it plans on the new head",
                            status=409,
                        ) from error
                    if not unclear:
                        raise
                    if attempt == WRITE_ATTEMPTS:
                        raise gave_up_error(doing, attempt, started, error) from error
                    # The head has not moved: the commit did not land; send it once more.
        raise AssertionError("unreachable")

    def _holds(self, project: str, ref: str, actions: list[CommitAction]) -> bool:
        """True when ``ref``'s tree already is what ``actions`` would make it."""
        self._files.clear()
        for action in actions:
            found = self.get_file(project, action.path, ref)
            if action.action == "delete":
                if found is not None:
                    return False
            elif found is None or found.content != (action.content or "").encode():
                return False
        self._files.clear()
        return True
