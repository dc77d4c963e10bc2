"""Automatic fixes for the topology guard's problems: the extra files to write.

Both return `{path: content}` to commit together with what bootstrap adds; with
them, `check_topology` passes for the layouts they address. Existing files are
edited with ruamel.yaml round-trip, so their comments and order survive.
"""

from __future__ import annotations

import io
import posixpath
import re
from collections.abc import Mapping, Sequence

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from kasboot.flux.build import FluxKustomization, kustomization_file_in, run_build
from kasboot.flux.paths import ancestors, is_within, normalize_repo_path, parent_of, relative_to
from kasboot.flux.sourceignore import DEFAULT_EXCLUSIONS, IGNORE_FILE
from kasboot.flux.views import FileView, artifact, overlay

AGENT_CONFIG_SAMPLE = ".gitlab/agents/agent/config.yaml"

_LISTED_HEADER = (
    "# Flux used to build every YAML file under this path; this file lists them instead,\n"
    "# so that non-Kubernetes YAML (such as the GitLab agent's .gitlab/ configuration)\n"
    "# stays out of the build. Add new manifests (or directories) below.\n"
)
_MANIFEST_DIR_HEADER = (
    "# The GitLab agent for Kubernetes, installed by Flux (written by kasboot).\n"
)


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def _new_kustomization(entries: Sequence[str], header: str) -> bytes:
    lines = [header.rstrip("\n")] if header else []
    lines += ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization"]
    lines += ["resources:", *(f"- {entry}" for entry in entries)] if entries else ["resources: []"]
    return ("\n".join(lines) + "\n").encode()


def add_resources(data: bytes, entries: Sequence[str]) -> bytes:
    """`data` (a kustomization file) with `entries` appended to its resources."""
    text = data.decode("utf-8")
    yaml = YAML()
    yaml.preserve_quotes = True
    if re.search(r"^resources:[ \t]*\n[ \t]+- ", text, re.MULTILINE):
        yaml.indent(mapping=2, sequence=4, offset=2)
    else:
        yaml.indent(mapping=2, sequence=2, offset=0)
    document = yaml.load(text)
    if document is None:
        document = CommentedMap(
            [("apiVersion", "kustomize.config.k8s.io/v1beta1"), ("kind", "Kustomization")]
        )
    resources = document.get("resources")
    if resources is None:
        resources = document["resources"] = CommentedSeq()
    listed = {posixpath.normpath(str(entry)) for entry in resources}
    for entry in entries:
        if posixpath.normpath(entry) not in listed:
            resources.append(entry)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue().encode()


def fix_add_kustomization(
    files: Mapping[str, bytes],
    added: Mapping[str, bytes],
    kustomization: FluxKustomization,
    manifest_files: Sequence[str],
    spec_ignore: str | None = None,
) -> dict[str, bytes]:
    """Kustomization files that make `kustomization` build and apply the manifests.

    Without a kustomization file at spec.path: one there, listing what Flux's
    generated walk takes today minus what would fail. Then, for manifests the
    build still does not reach: a kustomization.yaml in their directory listing
    them, and that directory added to the nearest kustomization of the build.
    """
    manifests = [normalize_repo_path(path) for path in manifest_files]
    written: dict[str, bytes] = {}

    def current() -> FileView:
        return artifact(overlay(files, {**added, **written}), spec_ignore)[0]

    base = kustomization.repo_path
    view = current()
    if kustomization_file_in(view, base) is None:
        prediction, builder = run_build(view, kustomization)
        failing = [failure.path for failure in prediction.failures]
        entries = [
            relative_to(path, base)
            for path, is_dir in builder.generated_resources
            if not (is_dir and any(is_within(f, path) for f in failing))
        ]
        written[_join(base, "kustomization.yaml")] = _new_kustomization(entries, _LISTED_HEADER)
        view = current()

    prediction, builder = run_build(view, kustomization)
    unreached: dict[str, list[str]] = {}
    for manifest in manifests:
        if manifest not in prediction.reached_files:
            unreached.setdefault(parent_of(manifest), []).append(manifest.rsplit("/", 1)[-1])
    for directory, names in unreached.items():
        kfile = kustomization_file_in(view, directory)
        if kfile is not None:
            written[kfile] = add_resources(view[kfile], names)
        else:
            written[_join(directory, "kustomization.yaml")] = _new_kustomization(
                names, _MANIFEST_DIR_HEADER
            )
        if directory not in builder.kustomization_dirs:
            anchor = next(
                (d for d in ancestors(directory) if d in builder.kustomization_dirs), base
            )
            view = current()
            anchor_file = kustomization_file_in(view, anchor)
            if anchor_file is not None:
                written[anchor_file] = add_resources(
                    view[anchor_file], [relative_to(directory, anchor)]
                )
        view = current()
    return written


def fix_sourceignore(
    files: Mapping[str, bytes],
    added: Mapping[str, bytes],
    spec_ignore: str | None = None,
) -> dict[str, bytes]:
    """A root .sourceignore that keeps `/.gitlab/` out of the artifact.

    Any pattern drops source-controller's default exclusions, so when they are in
    force today they are written out too: nothing else starts failing.
    """
    future = overlay(files, added)
    _, ignore = artifact(future, spec_ignore)
    agent_configs = [p for p in future if p.startswith(".gitlab/")] or [AGENT_CONFIG_SAMPLE]
    if all(ignore.excluded(path) for path in agent_configs):
        return {}
    existing = future[IGNORE_FILE].decode("utf-8") if IGNORE_FILE in future else ""
    if existing and not existing.endswith("\n"):
        existing += "\n"
    block: list[str] = []
    if ignore.uses_defaults:
        block.append(
            "# source-controller's default exclusions: they stop applying once any pattern exists"
        )
        block += list(DEFAULT_EXCLUSIONS)
    block.append("# the GitLab agent's configuration is not a Kubernetes manifest (kasboot)")
    block.append("/.gitlab/")
    separator = "\n" if existing else ""
    return {IGNORE_FILE: (existing + separator + "\n".join(block) + "\n").encode()}
