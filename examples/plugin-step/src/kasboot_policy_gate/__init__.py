"""A policy gate for kasboot: manifests may only be committed under the allowed path
prefixes (``KASBOOT_POLICY_MANIFEST_PREFIXES``, comma-separated, e.g. ``clusters/``).

It runs right after kasboot's pre-flight and before the first write, as a check: when
the manifest path is outside the policy, the bootstrap stops with exit 3 and nothing
is written; ``kasboot plan`` shows the same verdict.
"""

from __future__ import annotations

import os
from typing import Any

from kasboot.errors import PreflightError
from kasboot.pipeline import Change

PREFIXES_VARIABLE = "KASBOOT_POLICY_MANIFEST_PREFIXES"


class ManifestPathPolicy:
    name = "policy-gate"
    title = "Checking the manifest path policy"
    after = "preflight"
    is_check = True

    def plan(self, ctx: Any) -> list[Change]:
        prefixes = self._prefixes()
        path = ctx.settings.manifest_path.strip("/") + "/"
        if prefixes and not any(path.startswith(prefix) for prefix in prefixes):
            raise PreflightError(
                f"manifest path {ctx.settings.manifest_path!r} is outside the policy "
                f"({', '.join(prefixes)})",
                f"pass --manifest-path under one of them, or change {PREFIXES_VARIABLE}",
            )
        return []

    def summary(self, ctx: Any) -> str:
        prefixes = self._prefixes()
        if not prefixes:
            return f"no policy ({PREFIXES_VARIABLE} unset)"
        return f"{ctx.settings.manifest_path} is under {', '.join(prefixes)}"

    @staticmethod
    def _prefixes() -> list[str]:
        raw = os.environ.get(PREFIXES_VARIABLE, "")
        return [part.strip().strip("/") + "/" for part in raw.split(",") if part.strip()]
