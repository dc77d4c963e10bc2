"""Project environments, as the environments API and its model validations see them."""

from __future__ import annotations

import re
import secrets
import string
from typing import TYPE_CHECKING, Any

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.store import Row, now_iso

if TYPE_CHECKING:
    from kasboot.sandbox.gitlab.backend import GitLabBackend, Principal

TIERS = ("production", "staging", "testing", "development", "other")
STATES = ("available", "stopping", "stopped")
DEVELOPER = 30
_NAME_RE = re.compile(r"\A[a-zA-Z0-9_\\/${}. -]+\Z")
_NAME_FORMAT_MESSAGE = (
    "can contain only letters, digits, '-', '_', '/', '$', '{', '}', '.', and spaces, "
    "but it cannot start or end with '/'"
)
# Environment#guess_tier: the first pattern the name matches decides.
_TIER_GUESSES = (
    ("development", re.compile(r"(dev|review|trunk)", re.I)),
    ("testing", re.compile(r"(test|tst|int|ac(ce|)pt|qa|qc|control|quality)", re.I)),
    ("staging", re.compile(r"(st(a|)g|mod(e|)l|pre|demo|non)", re.I)),
    ("production", re.compile(r"(pr(o|)d|live)", re.I)),
)
DASHBOARD_FIELDS = ("cluster_agent_id", "kubernetes_namespace", "flux_resource_path")
_EDITABLE = ("external_url", "tier", *DASHBOARD_FIELDS, "description")
_NAMESPACE_RE = re.compile(r"\A[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
_NAMESPACE_MESSAGE = (
    "can contain only lowercase letters, digits, and '-'. "
    "Must start and end with an alphanumeric character"
)
AGENT_NOT_ASSOCIABLE = "cluster agent doesn't exist or cannot be associated with this environment"


def guess_tier(name: str) -> str:
    for tier, pattern in _TIER_GUESSES:
        if pattern.search(name):
            return tier
    return "other"


def make_slug(name: str) -> str:
    """Environment slugs: DNS-safe, ≤ 24 chars, with a random suffix when the name changed."""
    slug = re.sub(r"[^a-z0-9]", "-", name.lower())
    if not re.match(r"[a-z]", slug):
        slug = "env-" + slug
    slug = re.sub(r"-+", "-", slug)[:24].rstrip("-")
    if slug != name:
        suffix = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(6))
        slug = f"{slug[:17].rstrip('-')}-{suffix}"
    return slug


class EnvironmentsBackend:
    def __init__(self, core: GitLabBackend) -> None:
        self.core = core
        self.store = core.store

    def list_environments(
        self,
        project: Row,
        principal: Principal,
        *,
        name: str | None = None,
        search: str | None = None,
        states: str | None = None,
    ) -> list[Row]:
        self.core.require_access(project, principal, DEVELOPER)
        if name is not None and search is not None:
            raise err.GitLabApiError(400, {"error": "name, search are mutually exclusive"})
        if states is not None and states not in STATES:
            raise err.invalid_param("states", "does not have a valid value")
        if search is not None and len(search) < 3:
            raise err.bad_request("Search query is less than 3 characters")
        sql = "SELECT * FROM environments WHERE project_id = ?"
        params: list[Any] = [project["id"]]
        if name is not None:
            sql += " AND name = ?"
            params.append(name)
        if search is not None:
            sql += " AND instr(name, ?) > 0"
            params.append(search)
        if states is not None:
            sql += " AND state = ?"
            params.append(states)
        return self.store.all(sql + " ORDER BY id", tuple(params))

    def get(self, project: Row, principal: Principal, environment_id: str) -> Row:
        self.core.require_access(project, principal, DEVELOPER)
        return self._find(project, environment_id)

    def _find(self, project: Row, environment_id: str) -> Row:
        row = (
            self.store.one(
                "SELECT * FROM environments WHERE id = ? AND project_id = ?",
                (int(environment_id), project["id"]),
            )
            if environment_id.isdigit()
            else None
        )
        if row is None:
            raise err.not_found()
        return row

    def _declared(self, params: dict[str, Any]) -> dict[str, Any]:
        """Before 17.5 the API does not declare the dashboard fields: Grape drops them."""
        if self.core.release.environments_take_agent_fields:
            return params
        return {k: v for k, v in params.items() if k not in DASHBOARD_FIELDS}

    def _validate_fields(self, project: Row, fields: dict[str, Any]) -> None:
        tier = fields.get("tier")
        if tier is not None and tier not in TIERS:
            raise err.invalid_param("tier", "does not have a valid value")
        agent_id = fields.get("cluster_agent_id")
        if agent_id not in (None, ""):
            agent = self.core.agents.agent_by_id(int(agent_id)) if str(agent_id).isdigit() else None
            if agent is None or agent["project_id"] != project["id"]:
                raise err.api_error(AGENT_NOT_ASSOCIABLE, 400)

    @staticmethod
    def _validate_dashboard(effective: dict[str, Any]) -> None:
        """Environment's model validations of the dashboard fields (after the change)."""
        errors: dict[str, list[str]] = {}
        namespace = effective.get("kubernetes_namespace")
        if namespace:
            if len(str(namespace)) > 63:
                errors.setdefault("kubernetes_namespace", []).append(
                    "is too long (maximum is 63 characters)"
                )
            if not _NAMESPACE_RE.match(str(namespace)):
                errors.setdefault("kubernetes_namespace", []).append(_NAMESPACE_MESSAGE)
            if not effective.get("cluster_agent_id"):
                errors.setdefault("kubernetes_namespace", []).append(
                    "cannot be set without a cluster agent"
                )
        path = effective.get("flux_resource_path")
        if path:
            if len(str(path)) > 255:
                errors.setdefault("flux_resource_path", []).append(
                    "is too long (maximum is 255 characters)"
                )
            if not namespace:
                errors.setdefault("flux_resource_path", []).append(
                    "cannot be set without a kubernetes namespace"
                )
        if errors:
            raise err.validation_error(errors)

    def create(self, project: Row, principal: Principal, params: dict[str, Any]) -> Row:
        self.core.require_access(project, principal, DEVELOPER)
        name = params.get("name")
        if name is None:
            raise err.missing_param("name")
        name = str(name)
        params = self._declared(params)
        self._validate_fields(project, params)
        self._validate_dashboard({key: params.get(key) or None for key in DASHBOARD_FIELDS})
        errors: list[str] = []
        if not name:
            errors.append("can't be blank")
        elif len(name) > 255:
            errors.append("is too long (maximum is 255 characters)")
        if name and (not _NAME_RE.match(name) or name.startswith("/") or name.endswith("/")):
            errors.append(_NAME_FORMAT_MESSAGE)
        with self.store.transaction():
            if self.store.one(
                "SELECT id FROM environments WHERE project_id = ? AND name = ?",
                (project["id"], name),
            ):
                errors.append("has already been taken")
            if errors:
                raise err.validation_error({"name": errors})
            stamp = now_iso()
            environment_id = self.store.execute(
                "INSERT INTO environments (project_id, name, slug, external_url, state, tier, "
                "description, cluster_agent_id, kubernetes_namespace, flux_resource_path, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, 'available', ?, ?, ?, ?, ?, ?, ?)",
                (
                    project["id"],
                    name,
                    make_slug(name),
                    params.get("external_url"),
                    params.get("tier") or guess_tier(name),
                    params.get("description"),
                    params.get("cluster_agent_id") or None,
                    params.get("kubernetes_namespace") or None,
                    params.get("flux_resource_path") or None,
                    stamp,
                    stamp,
                ),
            )
        return self._find(project, str(environment_id))

    def update(
        self, project: Row, principal: Principal, environment_id: str, params: dict[str, Any]
    ) -> Row:
        self.core.require_access(project, principal, DEVELOPER)
        environment = self._find(project, environment_id)
        if "name" in params and params["name"] != environment["name"]:
            raise err.validation_error({"name": ["cannot be changed"]})
        params = self._declared(params)
        self._validate_fields(project, params)
        changes = {key: params[key] for key in _EDITABLE if key in params}
        for key in DASHBOARD_FIELDS:
            if key in changes and changes[key] == "":
                changes[key] = None  # an empty value clears the link, as GitLab does
        self._validate_dashboard(
            {key: changes.get(key, environment[key]) for key in DASHBOARD_FIELDS}
        )
        if changes:
            assignments = ", ".join(f"{key} = ?" for key in changes)
            self.store.execute(
                f"UPDATE environments SET {assignments}, updated_at = ? WHERE id = ?",
                (*changes.values(), now_iso(), environment["id"]),
            )
        return self._find(project, environment_id)

    def stop(self, project: Row, principal: Principal, environment_id: str) -> Row:
        self.core.require_access(project, principal, DEVELOPER)
        environment = self._find(project, environment_id)
        self.store.execute(
            "UPDATE environments SET state = 'stopped', updated_at = ? WHERE id = ?",
            (now_iso(), environment["id"]),
        )
        return self._find(project, environment_id)

    def delete(self, project: Row, principal: Principal, environment_id: str) -> None:
        self.core.require_access(project, principal, DEVELOPER)
        environment = self._find(project, environment_id)
        # EnvironmentPolicy forbids destroying an environment that is not stopped.
        if environment["state"] != "stopped":
            raise err.forbidden()
        from kasboot.sandbox.gitlab.deployments import delete_for_environment

        delete_for_environment(self.store, int(environment["id"]))
        self.store.execute("DELETE FROM environments WHERE id = ?", (environment["id"],))
