"""The seam's answer to "does this commit's history hold that one?", from GitLab's
merge base of the two (``GET /repository/merge_base``): one request per pair of commits
in a run — the answer never changes, so it is kept."""

from __future__ import annotations

import threading

from kasboot.gitlab_api.base import Client

_ASKING = threading.Lock()


class Ancestry(Client):
    _ancestry: dict[tuple[str, str, str], bool]

    def commit_contains(self, project: str, later: str, commit: str) -> bool:
        """Whether ``later`` is ``commit`` or has it among its ancestors. False also when
        GitLab knows either commit not (400) or they share no history (404)."""
        if later == commit:
            return True
        if not hasattr(self, "_ancestry"):
            self._ancestry = {}
        key = (project, later, commit)
        # The wait watches the source and its Kustomizations in threads that may ask
        # at once: one asks, the other reads its answer.
        with _ASKING:
            return self._asked(project, later, commit, key)

    def _asked(self, project: str, later: str, commit: str, key: tuple[str, str, str]) -> bool:
        if key not in self._ancestry:
            import gitlab

            with self._errors(f"comparing commit {later[:12]} with {commit[:12]}"):
                try:
                    base = self._project(project).repository_merge_base([commit, later])
                except gitlab.exceptions.GitlabGetError as error:
                    if error.response_code not in (400, 404):
                        raise
                    base = {}
            self._ancestry[key] = isinstance(base, dict) and base.get("id") == commit
        return self._ancestry[key]
