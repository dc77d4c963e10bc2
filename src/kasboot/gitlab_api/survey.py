"""Pre-flight's GitLab reads in ONE GraphQL query: GitLab's version and KAS, the caller,
the project, the agent by name with its tokens (``lastUsedAt`` included), the
environments by name, and the blob ids of the files bootstrap writes (so that a file the
branch already holds as rendered is never fetched: its blob id is the ``git hash-object``
of the text).

REST needs one request each, the agents one page per 100 (no name filter). An older
GitLab without a field the query names (the environments' description before 17.5) is
asked once more without the environments, which then come from REST; one whose GraphQL
API cannot answer at all gives ``None`` and the callers use REST as before."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kasboot.errors import GitLabError
from kasboot.gitlab_api.graphql import GraphQLReads, GraphQLRefused, GraphQLUnsupported
from kasboot.gitlab_api.model import ProjectInfo

TOKEN_FIELDS = "id name description createdAt lastUsedAt status"
# The environments' fields the steps compare and the ownership marker (description):
# GitLab's GraphQL has all of them since 17.5; before, the environments come from REST.
ENVIRONMENT_FIELDS = (
    "id name state description clusterAgent { id name } kubernetesNamespace fluxResourcePath"
)


def git_blob_id(content: bytes) -> str:
    """What ``git hash-object`` says of ``content`` (GitLab's blob id of a file)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def local_id(global_id: Any) -> int:
    """``gid://gitlab/Clusters::Agent/7`` → 7."""
    return int(str(global_id).rsplit("/", 1)[-1])


@dataclass(frozen=True)
class Survey:
    metadata: dict[str, Any]
    user: dict[str, Any]
    project: ProjectInfo
    push_code: bool
    admin_project: bool  # Maintainer or more (GitLab's admin_project ability)
    agent: dict[str, Any] | None  # REST-shaped (id, name, created_at)
    tokens: list[dict[str, Any]]  # the agent's active tokens, REST-shaped with last_used_at
    environments: dict[str, dict[str, Any] | None]  # by name, REST-shaped
    ref: str  # the ref the blob ids are of (the branch asked for, or the default branch)
    blobs: dict[str, str] = field(default_factory=dict)  # path -> blob id (files that exist)
    texts: dict[str, bytes] = field(default_factory=dict)  # path -> content, where asked
    asked_texts: tuple[str, ...] = ()  # the paths whose texts were asked (absent: no file)

    def token(self, token_id: int) -> dict[str, Any] | None:
        return next((t for t in self.tokens if int(t["id"]) == token_id), None)


def survey_query(env_count: int, with_texts: bool) -> str:
    """The survey query text: environments asked by name (e0, e1, …), file texts optional."""
    envs = "\n".join(
        f"    e{n}: environments(name: $env{n}) {{ nodes {{ {ENVIRONMENT_FIELDS} }} }}"
        for n in range(env_count)
    )
    env_vars = "".join(f", $env{n}: String" for n in range(env_count))
    texts = (
        "texts: blobs(paths: $textPaths, ref: $ref) { nodes { path rawTextBlob } }"
        if with_texts
        else ""
    )
    text_var = ", $textPaths: [String!]!" if with_texts else ""
    return f"""query kasbootSurvey($project: ID!, $agent: String!, $ref: String,
  $paths: [String!]!{env_vars}{text_var}) {{
  metadata {{ version revision enterprise kas {{ enabled externalUrl version }} }}
  currentUser {{ id username name publicEmail commitEmail }}
  project(fullPath: $project) {{
    id fullPath webUrl httpUrlToRepo sshUrlToRepo
    userPermissions {{ pushCode adminProject }}
    repository {{
      rootRef
      blobs(paths: $paths, ref: $ref) {{ nodes {{ path oid }} }}
      {texts}
    }}
    clusterAgent(name: $agent) {{
      id name createdAt
      tokens(first: 100) {{ nodes {{ {TOKEN_FIELDS} }} }}
    }}
{envs}
  }}
}}"""


def rest_token(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": local_id(node["id"]),
        "name": node.get("name"),
        "description": node.get("description"),
        "created_at": node.get("createdAt"),
        "last_used_at": node.get("lastUsedAt"),
        "status": str(node.get("status") or "ACTIVE").lower(),
    }


def rest_environment(node: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": local_id(node["id"]),
        "name": node["name"],
        "state": node.get("state"),
        "description": node.get("description"),
    }
    agent = node.get("clusterAgent")
    if agent:  # REST shows these keys only when an agent is linked
        found["cluster_agent"] = {"id": local_id(agent["id"]), "name": agent.get("name")}
        found["kubernetes_namespace"] = node.get("kubernetesNamespace")
        found["flux_resource_path"] = node.get("fluxResourcePath")
    return found


class SurveyReads(GraphQLReads):
    def survey(
        self,
        project: str,
        *,
        agent: str,
        environments: Sequence[str],
        branch: str | None,
        paths: Sequence[str],
        text_paths: Sequence[str] = (),
    ) -> Survey | None:
        """The survey, or None when this GitLab's GraphQL API cannot give it."""
        variables: dict[str, Any] = {
            "project": project,
            "agent": agent,
            "ref": branch,
            "paths": list(paths),
            **{f"env{n}": name for n, name in enumerate(environments)},
        }
        if text_paths:
            variables["textPaths"] = list(text_paths)
        data: dict[str, Any] | None = None
        for asked in (list(environments), []):  # an older GitLab: environments from REST
            query = survey_query(len(asked), bool(text_paths))
            try:
                data = self.graphql(query, variables, "checking the token")
                break
            except GraphQLUnsupported:
                continue
            except GraphQLRefused:
                return None  # GraphQL cannot answer this (REST can)
            except GitLabError as error:
                if error.status != 404:
                    raise  # the token, the network: REST would fail the same way
                return None  # no GraphQL endpoint: REST
        if data is None:
            return None
        return self._parsed(project, data, asked, branch, tuple(text_paths))

    def _parsed(
        self,
        path: str,
        data: dict[str, Any],
        environments: Sequence[str],
        branch: str | None,
        asked_texts: tuple[str, ...],
    ) -> Survey:
        found = data.get("project")
        if found is None:
            raise GitLabError(
                f"GitLab said 404 while reading project {path}: 404 Project Not Found",
                hint="check the project path (-R / --repo), and that the token may see it",
                status=404,
            )
        user = data.get("currentUser") or {}
        meta = data.get("metadata") or {}
        repository = found.get("repository") or {}
        default_branch = str(repository.get("rootRef") or "main")
        info = ProjectInfo(
            id=local_id(found["id"]),
            path=str(found["fullPath"]),
            default_branch=default_branch,
            http_url=str(found.get("httpUrlToRepo") or ""),
            web_url=str(found.get("webUrl") or ""),
            ssh_url=str(found.get("sshUrlToRepo") or ""),
        )
        self._remember_project(info, path)
        agent_node = found.get("clusterAgent")
        agent = (
            {
                "id": local_id(agent_node["id"]),
                "name": agent_node["name"],
                "created_at": agent_node.get("createdAt"),
            }
            if agent_node
            else None
        )
        tokens = (
            [rest_token(t) for t in ((agent_node.get("tokens") or {}).get("nodes") or [])]
            if agent_node
            else []
        )
        envs: dict[str, dict[str, Any] | None] = {}
        for n, name in enumerate(environments):
            nodes = (found.get(f"e{n}") or {}).get("nodes") or []
            envs[name] = next((rest_environment(e) for e in nodes if e["name"] == name), None)
        blobs = {
            str(b["path"]): str(b["oid"])
            for b in ((repository.get("blobs") or {}).get("nodes") or [])
        }
        texts = {
            str(b["path"]): str(b.get("rawTextBlob") or "").encode()
            for b in ((repository.get("texts") or {}).get("nodes") or [])
        }
        return Survey(
            metadata={
                "version": meta.get("version"),
                "revision": meta.get("revision"),
                "enterprise": meta.get("enterprise"),
                "kas": dict(meta.get("kas") or {}),
            },
            user={
                "id": local_id(user["id"]) if user.get("id") else None,
                "username": user.get("username"),
                "name": user.get("name"),
                "public_email": user.get("publicEmail"),
                "commit_email": user.get("commitEmail"),
            },
            project=info,
            push_code=bool((found.get("userPermissions") or {}).get("pushCode")),
            admin_project=bool((found.get("userPermissions") or {}).get("adminProject")),
            agent=agent,
            tokens=[t for t in tokens if t["status"] == "active"],
            environments=envs,
            ref=branch or default_branch,
            blobs=blobs,
            texts=texts,
            asked_texts=asked_texts,
        )

    def _remember_project(self, info: ProjectInfo, asked: str) -> None:
        """Later REST calls on the project need no GET of it: a lazy object by id."""
        for path in {info.path, asked}:
            if path not in self._projects:
                self._projects[path] = self._gl.projects.get(info.id, lazy=True)
            self._project_infos[path] = info
