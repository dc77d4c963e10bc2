"""Removing what a journey left of an agent, through GitLab's and Kubernetes' APIs: the
finalizer that keeps a real project and cluster clean when a journey fails half-way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from e2e.world import World

FLUX_NAMESPACE = "flux-system"
HELM = ("helm.toolkit.fluxcd.io", "v2", "helmreleases")
HELM_REPOSITORY = ("source.toolkit.fluxcd.io", "v1", "helmrepositories")


def _ignore_missing(action: Any, *args: Any, **kwargs: Any) -> None:
    import gitlab
    from kubernetes.client.rest import ApiException

    try:
        action(*args, **kwargs)
    except gitlab.exceptions.GitlabError as error:
        if error.response_code != 404:
            raise
    except ApiException as error:
        if error.status != 404:
            raise


def delete_files(world: World, paths: list[str], branch: str, message: str) -> None:
    if not paths:
        return
    world.project.commits.create(
        {
            "branch": branch,
            "commit_message": message,
            "actions": [{"action": "delete", "file_path": path} for path in paths],
        }
    )


def purge_agent(world: World, agent: str, manifest_path: str) -> None:
    from kubernetes import client

    # The repository first: Flux would re-apply what its files still describe.
    files = world.files_under(manifest_path) + world.files_under(f".gitlab/agents/{agent}")
    delete_files(world, files, world.default_branch, f"e2e clean-up: remove {agent}")
    custom = client.CustomObjectsApi(world.kube)
    for (group, version, plural), name in ((HELM, agent), (HELM_REPOSITORY, f"gitlab-{agent}")):
        _ignore_missing(
            custom.delete_namespaced_custom_object, group, version, FLUX_NAMESPACE, plural, name
        )
    _ignore_missing(client.CoreV1Api(world.kube).delete_namespace, agent)
    for environment in world.project.environments.list(iterator=True, per_page=100):
        if agent in str(environment.name):
            _ignore_missing(environment.stop, force=True)
            _ignore_missing(world.project.environments.delete, environment.id)
    found = world.find_agent(agent)
    if found is not None:  # its tokens go with it
        _ignore_missing(world.project.cluster_agents.delete, found["id"])
