"""source-controller's artifact storage: one directory per revision (the real one keeps
tarballs; a directory is what kustomize-controller would unpack anyway), addressed by
the ``status.artifact.path`` the controller publishes, garbage-collected to the newest
few revisions per object."""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path
from typing import Any

from kasboot.sandbox.flux.kubeapi import now_rfc3339

STORAGE_HOST = "source-controller.flux-system.svc.cluster.local."
KEEP_REVISIONS = 2


def tree_digest(root: Path, files: list[str]) -> str:
    """A stable sha256 over the kept files' paths and contents."""
    digest = hashlib.sha256()
    for relative in sorted(files):
        digest.update(relative.encode() + b"\0")
        digest.update((root / relative).read_bytes())
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()


class ArtifactStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def locate(self, artifact: dict[str, Any]) -> Path | None:
        """The stored tree of an artifact a source published, if it is still stored."""
        relative = str(artifact.get("path") or "").removesuffix(".tar.gz")
        directory = self.root / relative
        return directory if relative and directory.is_dir() else None

    def store(
        self,
        kind: str,
        namespace: str,
        name: str,
        revision: str,
        checkout: Path,
        files: list[str],
    ) -> dict[str, Any]:
        """Copy ``files`` of ``checkout`` into storage; the ``status.artifact`` to publish."""
        identity = revision.rsplit(":", 1)[-1][:40] or "artifact"
        relative = f"{kind.lower()}/{namespace}/{name}/{identity}"
        target = self.root / relative
        with self._lock:
            if not target.is_dir():
                staging = target.with_name(target.name + ".partial")
                shutil.rmtree(staging, ignore_errors=True)
                for file in files:
                    destination = staging / file
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(checkout / file, destination)
                staging.mkdir(parents=True, exist_ok=True)
                staging.rename(target)
            self._collect_garbage(target.parent, keep=target)
        size = sum((target / file).stat().st_size for file in files)
        return {
            "digest": tree_digest(target, files),
            "lastUpdateTime": now_rfc3339(),
            "path": relative + ".tar.gz",
            "revision": revision,
            "size": size,
            "url": f"http://{STORAGE_HOST}/{relative}.tar.gz",
        }

    def _collect_garbage(self, directory: Path, keep: Path) -> None:
        stored = sorted(
            (p for p in directory.iterdir() if p.is_dir() and p != keep),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in stored[KEEP_REVISIONS - 1 :]:
            shutil.rmtree(old, ignore_errors=True)
