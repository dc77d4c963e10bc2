"""Advice texts shared by bootstrap's pre-flight and the doctor, so both say the same."""

from __future__ import annotations

# --no-reconcile does not make a Flux-less cluster work: it commits the manifests and
# stores the Secret, but nothing applies them until a Flux that reconciles
# --manifest-path is installed. Saying only "or pass --no-reconcile" led users to a
# bootstrap that could never become Ready.
FLUX_MISSING_HINT = (
    "install Flux first (`flux bootstrap gitlab --owner <group> --repository <project> "
    "--path clusters/<name>`) and put --manifest-path under that path; --no-reconcile "
    "does not replace Flux: it commits the manifests and stores the token Secret without "
    "asking Flux to apply them or waiting, so the agent starts only once a Flux that "
    "applies --manifest-path is installed"
)
