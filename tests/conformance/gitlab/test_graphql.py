"""The emulator's GraphQL endpoint (/api/graphql) and repository archive: GraphQL over
HTTP as any client speaks it (a POST of {query, variables} with a Bearer token, httpx),
the archive through python-gitlab's repository_archive."""

from __future__ import annotations

import io
import json
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

import gitlab
import httpx
import pytest
from gitlab.v4.objects import Project

from kasboot.sandbox.gitlab import GitLabEmulator
from tests.conformance.gitlab.conftest import World

SURVEY = """
query($path: ID!, $agent: String!, $env: String) {
  metadata { version kas { enabled externalUrl version } }
  currentUser { username commitEmail }
  project(fullPath: $path) {
    id fullPath userPermissions { pushCode }
    repository { rootRef blobs(paths: ["README.md", "missing.yaml"]) { nodes { path oid } } }
    clusterAgent(name: $agent) { id name tokens { nodes { id name lastUsedAt status } } }
    environments(name: $env) { nodes { id name } }
  }
}
"""


class GraphQLError(Exception):
    """The answer's errors, their messages joined (as GraphQL clients raise them)."""


class GraphQL:
    """GraphQL over HTTP: POST {query, variables} as JSON; the data, or GraphQLError."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def execute(self, query: str, variable_values: dict[str, Any] | None = None) -> Any:
        answer = httpx.post(
            f"{self.url}/api/graphql",
            json={"query": query, "variables": variable_values or {}},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        answer.raise_for_status()
        body = answer.json()
        if body.get("errors"):
            raise GraphQLError("; ".join(str(e.get("message")) for e in body["errors"]))
        return body["data"]


def graphql(world: World, token: str | None = None) -> GraphQL:
    return GraphQL(world.url, token or world.owner_token)


def test_one_query_answers_agent_tokens_environments_and_kas(
    world: World, project: Project
) -> None:
    agent = project.cluster_agents.create({"name": "prod"})
    project.environments.create({"name": "prod/env"})
    project.environments.create({"name": "prod/env-other"})
    token: dict[str, object] = project.manager.gitlab.http_post(  # type: ignore[assignment]
        f"/projects/{project.id}/cluster_agents/{agent.id}/tokens", post_data={"name": "t1"}
    )
    variables = {"path": project.path_with_namespace, "agent": "prod", "env": "prod/env"}
    data = graphql(world).execute(SURVEY, variable_values=variables)
    assert data["metadata"]["kas"]["enabled"] is True
    assert data["currentUser"]["username"] == "root"
    found = data["project"]
    assert found["fullPath"] == project.path_with_namespace
    assert found["userPermissions"] == {"pushCode": True}
    assert found["clusterAgent"]["id"] == f"gid://gitlab/Clusters::Agent/{agent.id}"
    [listed] = found["clusterAgent"]["tokens"]["nodes"]
    assert listed == {
        "id": f"gid://gitlab/Clusters::AgentToken/{token['id']}",
        "name": "t1",
        "lastUsedAt": None,
        "status": "ACTIVE",
    }
    assert [e["name"] for e in found["environments"]["nodes"]] == ["prod/env"]  # exact name
    [readme] = found["repository"]["blobs"]["nodes"]  # a missing path is left out
    blob_id = project.files.get("README.md", ref="main").blob_id
    assert readme == {"path": "README.md", "oid": blob_id}


def test_unknown_agent_and_project_are_null(world: World, project: Project) -> None:
    variables = {"path": project.path_with_namespace, "agent": "nope", "env": "x"}
    assert (
        graphql(world).execute(SURVEY, variable_values=variables)["project"]["clusterAgent"] is None
    )
    variables["path"] = "no/such"
    assert graphql(world).execute(SURVEY, variable_values=variables)["project"] is None
    # agents need admin_cluster (Maintainer): a Developer sees null, not an error
    variables["path"] = project.path_with_namespace
    project.cluster_agents.create({"name": "nope"})
    developer = graphql(world, world.developer_token).execute(SURVEY, variable_values=variables)
    assert developer["project"]["clusterAgent"] is None


def _raw(
    world: World, query: str, token: str | None = None, get: bool = False
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    headers["PRIVATE-TOKEN"] = token or world.owner_token
    if get:
        from urllib.parse import urlencode

        request = urllib.request.Request(
            f"{world.url}/api/graphql?{urlencode({'query': query})}", headers=headers
        )
    else:
        body = json.dumps({"query": query}).encode()
        request = urllib.request.Request(f"{world.url}/api/graphql", body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_errors_have_gitlabs_shape(world: World) -> None:
    status, body = _raw(world, '{ project(fullPath: "a/b") { nosuch } }')
    assert status == 200
    assert body["errors"][0]["message"] == "Field 'nosuch' doesn't exist on type 'Project'"
    assert body["errors"][0]["extensions"] == {
        "code": "undefinedField",
        "typeName": "Project",
        "fieldName": "nosuch",
    }
    status, body = _raw(world, "{ currentUser { username } }", token="glpat-wrong")
    assert (status, body) == (401, {"errors": [{"message": "Invalid token"}]})
    status, body = _raw(world, "{ currentUser { username } }", get=True)
    assert status == 200 and body["data"]["currentUser"]["username"] == "root"
    mutation = 'mutation { createClusterAgent(input: {projectPath: "a/b", name: "x"}) { errors } }'
    status, body = _raw(world, mutation, get=True)
    assert status == 405


def test_mutations_answer_refusals_as_payload_errors(world: World, project: Project) -> None:
    create = """mutation($path: ID!) { createClusterAgent(input: {projectPath: $path, name: "m1"}) {
        clusterAgent { id name } errors } }"""
    client = graphql(world)
    first = client.execute(create, variable_values={"path": project.path_with_namespace})
    assert first["createClusterAgent"]["errors"] == []
    agent_id = first["createClusterAgent"]["clusterAgent"]["id"]
    again = client.execute(create, variable_values={"path": project.path_with_namespace})
    assert again["createClusterAgent"] == {
        "clusterAgent": None,
        "errors": ["Name has already been taken"],
    }
    token = client.execute(
        """mutation($id: ClustersAgentID!) { clusterAgentTokenCreate(input:
        {clusterAgentId: $id, name: "t"}) { secret token { id status } errors } }""",
        variable_values={"id": agent_id},
    )["clusterAgentTokenCreate"]
    assert token["secret"].startswith("glagent-") and token["token"]["status"] == "ACTIVE"


def test_dashboard_fields_by_release(tmp_path: Path) -> None:
    for version, present in (("16.3.0", False), ("16.4.0", True)):
        emulator = GitLabEmulator(tmp_path / version, gitlab_version=version).start()
        try:
            backend = emulator.backend
            backend.ensure_user("root", "Administrator", "admin@example.com")
            token = backend.create_personal_access_token("root", "owner", ["api"])
            backend.ensure_project("g/fleet", owner="root")
            query = (
                '{ project(fullPath: "g/fleet") { environments { nodes { fluxResourcePath } } } }'
            )
            client = GraphQL(emulator.url, token)
            if present:
                assert client.execute(query)["project"]["environments"]["nodes"] == []
            else:
                with pytest.raises(GraphQLError, match="doesn't exist on type 'Environment'"):
                    client.execute(query)
        finally:
            emulator.stop()


def test_archive_of_a_path_in_one_answer(world: World, project: Project) -> None:
    project.commits.create(
        {
            "branch": "main",
            "commit_message": "files",
            "actions": [
                {"action": "create", "file_path": f"clusters/a/f{n}.yaml", "content": f"n: {n}\n"}
                for n in range(3)
            ]
            + [{"action": "create", "file_path": "other/x.yaml", "content": "x: 1\n"}],
        }
    )
    data = project.repository_archive(sha="main", format="tar.gz", path="clusters/a")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        names = sorted(m.name for m in archive.getmembers() if m.isfile())
    assert names == [f"fleet-main-clusters-a/clusters/a/f{n}.yaml" for n in range(3)]
    with pytest.raises(gitlab.GitlabError) as missing:
        project.repository_archive(sha="main", path="no/such")
    assert missing.value.response_code == 404
