"""A Flux source that applies a branch from the repository root, set up beside the
world's own Flux: the layout `flux bootstrap --path ./` leaves (no kustomization.yaml at
the root, so kustomize-controller builds every YAML file it finds, config.yaml included).
Built with the real clients, so the sandbox and a real cluster get the same objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from e2e.purge import FLUX_NAMESPACE

if TYPE_CHECKING:
    from e2e.world import World

SOURCE = ("source.toolkit.fluxcd.io", "v1", "gitrepositories")
KUSTOMIZATION = ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")


@dataclass
class RootSource:
    world: World
    name: str  # the branch, the GitRepository and the Kustomization

    @property
    def agent(self) -> str:
        return f"{self.world.agent}-root"

    def flags(self) -> list[str]:
        """kasboot's flags for an agent synced by this source (manifests under agents/)."""
        return [
            *self.world.agent_flags(self.agent, manifest_root="agents"),
            "--manifest-branch",
            self.name,
            "--flux-source-name",
            self.name,
            "--flux-source-namespace",
            FLUX_NAMESPACE,
        ]

    @classmethod
    def create(cls, world: World) -> RootSource:
        from kubernetes import client

        source = cls(world, f"e2e-root-{world.run_id}")
        project = world.project
        project.branches.create({"branch": source.name, "ref": world.default_branch})
        # Only a README on the branch: nothing of the world's own Flux is applied twice.
        actions = [
            {"action": "delete", "file_path": path}
            for path in world.files_under("", ref=source.name)
            if path != "README.md"
        ]
        readme = "update" if "README.md" in world.files_under("", ref=source.name) else "create"
        actions.append(
            {"action": readme, "file_path": "README.md", "content": "Synced from the root.\n"}
        )
        project.commits.create(
            {
                "branch": source.name,
                "commit_message": "e2e: a branch Flux applies from the repository root",
                "actions": actions,
            }
        )
        custom = client.CustomObjectsApi(world.kube)
        flux: Any = custom.get_namespaced_custom_object(
            *SOURCE[:2], FLUX_NAMESPACE, SOURCE[2], "flux-system"
        )
        spec: dict[str, Any] = {
            "interval": "1m",
            "url": flux["spec"]["url"],
            "ref": {"branch": source.name},
        }
        if flux["spec"].get("secretRef"):
            spec["secretRef"] = flux["spec"]["secretRef"]
        custom.create_namespaced_custom_object(
            *SOURCE[:2],
            FLUX_NAMESPACE,
            SOURCE[2],
            {
                "apiVersion": f"{SOURCE[0]}/{SOURCE[1]}",
                "kind": "GitRepository",
                "metadata": {"name": source.name, "namespace": FLUX_NAMESPACE},
                "spec": spec,
            },
        )
        custom.create_namespaced_custom_object(
            *KUSTOMIZATION[:2],
            FLUX_NAMESPACE,
            KUSTOMIZATION[2],
            {
                "apiVersion": f"{KUSTOMIZATION[0]}/{KUSTOMIZATION[1]}",
                "kind": "Kustomization",
                "metadata": {"name": source.name, "namespace": FLUX_NAMESPACE},
                "spec": {
                    "interval": "10m",
                    "path": "./",
                    "prune": True,
                    "sourceRef": {"kind": "GitRepository", "name": source.name},
                },
            },
        )
        return source

    def delete(self) -> None:
        """The Kustomization first (its prune removes what it applied), then the source
        and the branch; every part is tried even when one fails."""
        from kubernetes import client

        from e2e.purge import _ignore_missing, purge_agent

        failures: list[BaseException] = []
        custom = client.CustomObjectsApi(self.world.kube)
        steps: list[tuple[Any, tuple[Any, ...]]] = [
            (purge_agent, (self.world, self.agent, f"agents/{self.agent}")),
            (
                custom.delete_namespaced_custom_object,
                (*KUSTOMIZATION[:2], FLUX_NAMESPACE, KUSTOMIZATION[2], self.name),
            ),
            (
                custom.delete_namespaced_custom_object,
                (*SOURCE[:2], FLUX_NAMESPACE, SOURCE[2], self.name),
            ),
            (self.world.project.branches.delete, (self.name,)),
        ]
        for action, args in steps:
            try:
                _ignore_missing(action, *args)
            except Exception as error:
                failures.append(error)
        if failures:
            raise failures[0]
