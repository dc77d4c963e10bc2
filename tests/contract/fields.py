"""The contract between kasboot and GitLab's REST API: the fields kasboot reads
(gitlab_fields.json), a probe that calls each endpoint once with python-gitlab, and a
check of every answer against the list. The same probe runs against the emulator
(tests/contract/) and against a real GitLab (e2e/test_contract.py), so a field the
emulator invents or a real GitLab renamed shows up as a difference."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

FIELDS_FILE = Path(__file__).with_name("gitlab_fields.json")
TYPES: dict[str, type | tuple[type, ...]] = {
    "int": int,
    "str": str,
    "bool": bool,
    "list": list,
    "dict": dict,
}


@dataclass(frozen=True)
class Endpoint:
    id: str
    method: str
    path: str
    docs: str
    fields: dict[str, str]
    is_list: bool = False


def load_endpoints() -> dict[str, Endpoint]:
    document = json.loads(FIELDS_FILE.read_text())
    return {
        e["id"]: Endpoint(
            e["id"], e["method"], e["path"], e["docs"], dict(e["fields"]), bool(e.get("list"))
        )
        for e in document["endpoints"]
    }


_ABSENT = object()


def _lookup(answer: Any, dotted: str) -> Any:
    current = answer
    for part in dotted.split("."):
        if current is None:
            return None  # a null parent: the child is as absent as the parent allows
        if not isinstance(current, dict) or part not in current:
            return _ABSENT
        current = current[part]
    return current


def field_problems(answer: Any, endpoint: Endpoint) -> list[str]:
    """Each listed field that is missing or of another type in ``answer``."""
    items = answer if endpoint.is_list else [answer]
    if endpoint.is_list and not isinstance(answer, list):
        return [f"{endpoint.id}: expected a list, got {type(answer).__name__}"]
    problems: list[str] = []
    for index, item in enumerate(items):
        where = f"{endpoint.id}[{index}]" if endpoint.is_list else endpoint.id
        for name, spec in endpoint.fields.items():
            optional = spec.endswith("?")
            wanted = TYPES[spec.rstrip("?")]
            value = _lookup(item, name)
            if value is _ABSENT or value is None:
                if not optional:
                    problems.append(
                        f"{where}: {name} is {'missing' if value is _ABSENT else 'null'}"
                    )
                continue
            if (isinstance(value, bool) and wanted is int) or not isinstance(value, wanted):
                problems.append(f"{where}: {name} is {type(value).__name__}, expected {spec}")
    return problems


def probe(gl: Any, project_path: str, scratch: str) -> dict[str, Any]:
    """One answer from every endpoint in the list. Writes only throw-away things named
    ``scratch`` (an agent, a token, an environment, a branch) and removes them again."""
    project = gl.projects.get(project_path)
    base = f"/projects/{project.id}"
    answers: dict[str, Any] = {
        "user": gl.http_get("/user"),
        "metadata": gl.http_get("/metadata"),
        "version": gl.http_get("/version"),
        "token_self": gl.http_get("/personal_access_tokens/self"),
        "project": gl.http_get(base),
    }
    branch = str(answers["project"].get("default_branch") or "main")
    answers["branch"] = gl.http_get(f"{base}/repository/branches/{quote(branch, safe='')}")
    gl.http_post(f"{base}/repository/branches", post_data={"branch": scratch, "ref": branch})
    cleanups: list[tuple[str, str]] = [("branch", f"{base}/repository/branches/{scratch}")]
    try:
        answers["commit_create"] = gl.http_post(
            f"{base}/repository/commits",
            post_data={
                "branch": scratch,
                "commit_message": "kasboot contract probe",
                "actions": [
                    {"action": "create", "file_path": f"{scratch}/probe.txt", "content": "x\n"}
                ],
            },
        )
        file_path = quote(f"{scratch}/probe.txt", safe="")
        answers["file"] = gl.http_get(
            f"{base}/repository/files/{file_path}", query_data={"ref": scratch}
        )
        answers["tree"] = gl.http_get(
            f"{base}/repository/tree", query_data={"ref": scratch, "recursive": True}
        )
        answers["agent_create"] = agent = gl.http_post(
            f"{base}/cluster_agents", post_data={"name": scratch}
        )
        cleanups.append(("agent", f"{base}/cluster_agents/{agent['id']}"))
        answers["agents"] = gl.http_get(f"{base}/cluster_agents")
        tokens = f"{base}/cluster_agents/{agent['id']}/tokens"
        answers["token_create"] = token = gl.http_post(
            tokens, post_data={"name": scratch, "description": "kasboot contract probe"}
        )
        answers["token_create"] = {**token, "token": "<redacted>" if token.get("token") else None}
        answers["tokens"] = gl.http_get(tokens)
        answers["token"] = gl.http_get(f"{tokens}/{token['id']}")
        answers["environment_create"] = environment = gl.http_post(
            f"{base}/environments",
            post_data={
                "name": scratch,
                "cluster_agent_id": agent["id"],
                "kubernetes_namespace": scratch,
            },
        )
        cleanups.append(("environment", f"{base}/environments/{environment['id']}"))
        answers["environments"] = gl.http_get(f"{base}/environments", query_data={"name": scratch})
        answers["environment_update"] = gl.http_put(
            f"{base}/environments/{environment['id']}",
            post_data={
                "flux_resource_path": "helm.toolkit.fluxcd.io/v2/namespaces/x/helmreleases/y"
            },
        )
    finally:
        for kind, path in reversed(cleanups):
            if kind == "environment":
                gl.http_post(f"{path}/stop", post_data={"force": True})
            gl.http_delete(path)
    return answers


def contract_report(answers: dict[str, Any]) -> dict[str, Any]:
    """Per endpoint: its docs page and the fields that differ from the list."""
    endpoints = load_endpoints()
    report = {
        endpoint.id: {
            "method": endpoint.method,
            "path": endpoint.path,
            "docs": endpoint.docs,
            "differs": field_problems(answers.get(endpoint.id), endpoint)
            if endpoint.id in answers
            else ["not probed"],
        }
        for endpoint in endpoints.values()
    }
    return report


def differences(report: dict[str, Any]) -> list[str]:
    return [problem for entry in report.values() for problem in entry["differs"]]
