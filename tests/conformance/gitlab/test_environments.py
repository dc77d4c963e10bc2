"""Environments: filters, create/edit/stop/delete, agent links and GitLab's errors."""

from __future__ import annotations

import gitlab
import pytest
from gitlab.v4.objects import Project

FLUX_PATH = "helm.toolkit.fluxcd.io/v2/namespaces/flux-system/helmreleases/gitlab-agent"


def test_create_with_agent_and_flux_fields(project: Project) -> None:
    agent = project.cluster_agents.create({"name": "env-agent"})
    environment = project.environments.create(
        {
            "name": "sandbox/agent",
            "external_url": "https://example.com",
            "cluster_agent_id": agent.id,
            "kubernetes_namespace": "gitlab-agent",
            "flux_resource_path": FLUX_PATH,
        }
    )
    assert environment.state == "available"
    assert environment.tier == "other"
    assert environment.slug.startswith("sandbox-agent-")
    assert environment.cluster_agent["id"] == agent.id
    assert environment.cluster_agent["config_project"]["id"] == project.id
    assert environment.kubernetes_namespace == "gitlab-agent"
    assert environment.flux_resource_path == FLUX_PATH
    for key in ("id", "name", "external_url", "created_at", "updated_at"):
        assert key in environment.attributes
    assert project.environments.create({"name": "production"}).tier == "production"
    assert project.environments.create({"name": "staging", "tier": "testing"}).tier == "testing"


def test_filters_name_search_states(project: Project) -> None:
    for name in ("alpha", "alphabet", "beta"):
        project.environments.create({"name": name})
    assert [e.name for e in project.environments.list(name="alpha")] == ["alpha"]
    assert [e.name for e in project.environments.list(search="alph")] == ["alpha", "alphabet"]
    beta = project.environments.list(name="beta")[0]
    beta.stop()
    assert [e.name for e in project.environments.list(states="stopped")] == ["beta"]
    assert len(project.environments.list(states="available")) == 2
    with pytest.raises(gitlab.GitlabListError) as caught:
        project.environments.list(name="alpha", search="alp")
    assert caught.value.response_code == 400


def test_name_taken_and_invalid(project: Project) -> None:
    project.environments.create({"name": "prod"})
    with pytest.raises(gitlab.GitlabCreateError) as caught:
        project.environments.create({"name": "prod"})
    assert caught.value.response_code == 400
    assert caught.value.error_message == {"name": ["has already been taken"]}
    with pytest.raises(gitlab.GitlabCreateError) as invalid:
        project.environments.create({"name": "/bad"})
    assert invalid.value.response_code == 400


def test_cluster_agent_must_belong_to_project(gl: gitlab.Gitlab, project: Project) -> None:
    foreign_project = gl.projects.create({"name": "foreign-env-project"})
    foreign = foreign_project.cluster_agents.create({"name": "foreign"})
    with pytest.raises(gitlab.GitlabCreateError) as caught:
        project.environments.create({"name": "x", "cluster_agent_id": foreign.id})
    assert caught.value.response_code == 400
    assert caught.value.error_message == (
        "cluster agent doesn't exist or cannot be associated with this environment"
    )


def test_dashboard_fields_are_validated(project: Project) -> None:
    agent = project.cluster_agents.create({"name": "validated"})
    plain = project.environments.create({"name": "plain"})
    assert "cluster_agent" not in plain.attributes
    cases = [
        ({"kubernetes_namespace": "ns"}, "kubernetes_namespace", "without a cluster agent"),
        (
            {"cluster_agent_id": agent.id, "kubernetes_namespace": "Not_A_Label"},
            "kubernetes_namespace",
            "lowercase letters",
        ),
        (
            {"cluster_agent_id": agent.id, "flux_resource_path": "x"},
            "flux_resource_path",
            "without a kubernetes namespace",
        ),
        (
            {
                "cluster_agent_id": agent.id,
                "kubernetes_namespace": "ns",
                "flux_resource_path": "x" * 256,
            },
            "flux_resource_path",
            "too long",
        ),
    ]
    for index, (fields, key, message) in enumerate(cases):
        with pytest.raises(gitlab.GitlabCreateError) as refused:
            project.environments.create({"name": f"bad-{index}", **fields})
        assert refused.value.response_code == 400
        assert message in " ".join(refused.value.error_message[key])


def test_edit_stop_delete(project: Project) -> None:
    agent = project.cluster_agents.create({"name": "editor"})
    environment = project.environments.create({"name": "review"})
    edited = project.environments.update(
        environment.id,
        {"cluster_agent_id": agent.id, "kubernetes_namespace": "ns", "external_url": "https://x"},
    )
    assert edited["cluster_agent"]["id"] == agent.id
    assert edited["kubernetes_namespace"] == "ns"
    with pytest.raises(gitlab.GitlabUpdateError) as orphaned:
        project.environments.update(environment.id, {"cluster_agent_id": None})
    assert orphaned.value.error_message == {
        "kubernetes_namespace": ["cannot be set without a cluster agent"]
    }
    cleared = project.environments.update(
        environment.id, {"cluster_agent_id": None, "kubernetes_namespace": None}
    )
    assert "cluster_agent" not in cleared  # absent, not null, when no agent is linked
    assert "kubernetes_namespace" not in cleared

    with pytest.raises(gitlab.GitlabDeleteError) as refused:
        project.environments.delete(environment.id)
    assert refused.value.response_code == 403
    assert refused.value.error_message == "403 Forbidden"
    stopped = project.environments.get(environment.id)
    stopped.stop()
    assert project.environments.get(environment.id).state == "stopped"
    project.environments.delete(environment.id)
    with pytest.raises(gitlab.GitlabGetError) as gone:
        project.environments.get(environment.id)
    assert gone.value.response_code == 404
