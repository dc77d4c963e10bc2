"""GraphQL objects of the emulator: projects, agents, tokens, environments, the repository.

Each is a dict whose lazy fields are callables (graphql-core calls them with the field's
arguments), so a query pays only for what it names. IDs are GitLab's global IDs
(``gid://gitlab/Clusters::Agent/7``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kasboot.sandbox.gitlab import exceptions as err

if TYPE_CHECKING:
    from kasboot.sandbox.gitlab.backend import Principal
    from kasboot.sandbox.gitlab.context import RequestContext
    from kasboot.sandbox.gitlab.store import Row

Page = Callable[[list[Any], dict[str, Any]], dict[str, Any]]
REPORTER, DEVELOPER, MAINTAINER = 20, 30, 40


def gid(model: str, value: Any) -> str:
    return f"gid://gitlab/{model}/{value}"


def token_node(token: Row) -> dict[str, Any]:
    return {
        "id": gid("Clusters::AgentToken", token["id"]),
        "name": token["name"],
        "description": token["description"],
        "createdAt": token["created_at"],
        "lastUsedAt": token["last_used_at"],
        "status": "ACTIVE" if token["status"] == "active" else "REVOKED",
        "clusterAgent": None,
    }


def agent_node(ctx: RequestContext, agent: Row, page: Page) -> dict[str, Any]:
    backend = ctx.backend

    def tokens(info: Any, **args: Any) -> dict[str, Any]:
        sql = "SELECT * FROM agent_tokens WHERE agent_id = ?"
        if backend.release.token_list_active_only:  # as the REST list (16.0)
            sql += " AND status = 'active'"
        rows = backend.store.all(sql + " ORDER BY id", (agent["id"],))
        return page([token_node(row) for row in rows], args)

    project = backend.project_by_id(int(agent["project_id"]))
    assert project is not None
    return {
        "id": gid("Clusters::Agent", agent["id"]),
        "name": agent["name"],
        "createdAt": agent["created_at"],
        "updatedAt": agent["created_at"],
        "webPath": f"/{backend.full_path(project)}/-/cluster_agents/{agent['name']}",
        "isReceptive": bool(agent["is_receptive"]),
        "tokens": tokens,
    }


def environment_node(ctx: RequestContext, row: Row, page: Page, dashboard: bool) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": gid("Environment", row["id"]),
        "name": row["name"],
        "state": row["state"],
        "path": f"/-/environments/{row['id']}",
        "slug": row["slug"],
        "externalUrl": row["external_url"],
        "tier": row["tier"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "description": row["description"],
    }
    if dashboard:
        agent = (
            ctx.backend.agents.agent_by_id(int(row["cluster_agent_id"]))
            if row["cluster_agent_id"]
            else None
        )
        node["clusterAgent"] = agent_node(ctx, agent, page) if agent else None
        node["kubernetesNamespace"] = row["kubernetes_namespace"]
        node["fluxResourcePath"] = row["flux_resource_path"]
    return node


def project_node(
    ctx: RequestContext, project: Row, principal: Principal | None, page: Page, dashboard: bool
) -> dict[str, Any]:
    backend = ctx.backend
    user_id = principal.user_id if principal else 0
    level = backend.access_level(project, user_id)
    described = ctx.entities.project(project, user_id or None)

    def cluster_agent(info: Any, name: str, **_: Any) -> dict[str, Any] | None:
        if level < MAINTAINER:  # ClusterAgentType: authorize :admin_cluster
            return None
        row = backend.store.one(
            "SELECT * FROM agents WHERE project_id = ? AND name = ?", (project["id"], name)
        )
        return agent_node(ctx, row, page) if row else None

    def cluster_agents(info: Any, **args: Any) -> dict[str, Any] | None:
        if level < MAINTAINER:
            return None
        rows = backend.store.all(
            "SELECT * FROM agents WHERE project_id = ? ORDER BY name, id", (project["id"],)
        )
        return page([agent_node(ctx, row, page) for row in rows], args)

    def environments(info: Any, **args: Any) -> dict[str, Any] | None:
        rows = _environment_rows(ctx, project, principal, args)
        if rows is None:
            return None
        return page([environment_node(ctx, row, page, dashboard) for row in rows], args)

    def environment(info: Any, **args: Any) -> dict[str, Any] | None:
        rows = _environment_rows(ctx, project, principal, args)
        return environment_node(ctx, rows[0], page, dashboard) if rows else None

    return {
        "id": gid("Project", project["id"]),
        "fullPath": backend.full_path(project),
        "name": project["name"],
        "path": project["path"],
        "webUrl": described["web_url"],
        "httpUrlToRepo": described["http_url_to_repo"],
        "sshUrlToRepo": described["ssh_url_to_repo"],
        "userPermissions": lambda info: {
            "pushCode": level >= DEVELOPER,
            "adminProject": level >= MAINTAINER,
            "createDeployment": level >= DEVELOPER,
        },
        "repository": lambda info: (
            repository_node(ctx, project, principal, page)
            if level >= REPORTER or project["visibility"] == "public"
            else None
        ),
        "clusterAgent": cluster_agent,
        "clusterAgents": cluster_agents,
        "environments": environments,
        "environment": environment,
    }


def _environment_rows(
    ctx: RequestContext, project: Row, principal: Principal | None, args: dict[str, Any]
) -> list[Row] | None:
    if principal is None:
        return None
    states = args.get("states")
    try:
        return ctx.backend.environments.list_environments(
            project,
            principal,
            name=args.get("name"),
            search=args.get("search"),
            states=states[0] if states else None,
        )
    except err.GitLabApiError as error:
        if error.status == 403:
            return None
        raise


def repository_node(
    ctx: RequestContext, project: Row, principal: Principal | None, page: Page
) -> dict[str, Any]:
    repo = ctx.backend.repo(project)
    empty = repo.is_empty()
    resolved: dict[str, str | None] = {}  # one rev-parse per ref and request

    def commit_of(ref: str | None) -> str | None:
        if empty:
            return None
        name = ref or project["default_branch"]
        if name not in resolved:
            resolved[name] = repo.resolve(name)
        return resolved[name]

    def tree(info: Any, path: str = "", ref: str | None = None, recursive: bool = False) -> Any:
        commit = commit_of(ref)
        if commit is None:
            return None
        entries = repo.tree_entries(commit, path or "", bool(recursive))
        if entries is None:
            return None
        last = repo.last_commit_touching(commit, path) if path else commit
        blobs = [_blob(e) for e in entries if e.type == "blob"]
        trees = [_entry(e) for e in entries if e.type == "tree"]
        return {
            "lastCommit": {"id": gid("CommitPresenter", last), "sha": last, "title": None}
            if last
            else None,
            "blobs": lambda info, **args: page(blobs, args),
            "trees": lambda info, **args: page(trees, args),
        }

    def blobs(info: Any, paths: list[str], ref: str | None = None, **args: Any) -> Any:
        commit = commit_of(ref)
        entries = repo.entries_at(commit, [path.strip("/") for path in paths]) if commit else {}
        found: list[dict[str, Any]] = []
        for path in paths if commit else []:
            entry = entries.get(path.strip("/"))
            if entry is None or entry.type != "blob":
                continue  # GitLab leaves out paths that are no file at ref
            found.append(_repository_blob(repo, entry))
        return page(found, args)

    return {
        "rootRef": None if empty else project["default_branch"],
        "empty": empty,
        "exists": True,
        "tree": tree,
        "blobs": blobs,
    }


def _entry(entry: Any) -> dict[str, Any]:
    return {
        "id": gid("Tree", entry.id),
        "sha": entry.id,
        "name": entry.name,
        "path": entry.path,
        "flatPath": entry.path,
        "type": entry.type,
        "webPath": None,
    }


def _blob(entry: Any) -> dict[str, Any]:
    return {**_entry(entry), "id": gid("Blob", entry.id), "mode": entry.mode}


def _repository_blob(repo: Any, entry: Any) -> dict[str, Any]:
    def content(info: Any) -> str:
        return str(repo.blob(entry.id).decode("utf-8", "replace"))

    def size(info: Any) -> int:
        return len(repo.blob(entry.id))

    return {
        "id": gid("Blob", entry.id),
        "oid": entry.id,
        "path": entry.path,
        "name": entry.name,
        "mode": entry.mode,
        "size": size,
        "rawSize": size,
        "rawTextBlob": content,
        "rawBlob": content,
    }
