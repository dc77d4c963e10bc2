"""The walk behind `predict_build`: kustomize's accumulation of one Flux
Kustomization's `spec.path` (an existing kustomization file, or the one Flux
generates), with the errors in the order Flux meets them and the layers of
transformers each object passes through (see placement.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kasboot.flux.duplicates import (
    ResourceKey,
    already_registered,
    duplicate_key_error,
    resource_id,
    resource_key,
)
from kasboot.flux.kustomization_file import load_kustomization, string_entries
from kasboot.flux.manifests import DecodedObject, DecodeError, decode_manifests
from kasboot.flux.paths import join_repo_path
from kasboot.flux.placement import Layer, PlacementLog
from kasboot.flux.tree import (
    TMP_DIR,
    RepoTree,
    absolute,
    is_manifest_candidate,
    is_remote,
    kustomization_file_in,
    kustomization_files_in,
)


@dataclass(frozen=True)
class FileFailure:
    path: str  # repository-relative: the file to fix
    message: str  # what Flux would say if this were the only failure


@dataclass
class _Stage:
    """Errors in the order Flux meets them: generator, then kustomize, then post-build."""

    generator: list[str] = field(default_factory=list)
    kustomize: list[str] = field(default_factory=list)
    post_build: list[str] = field(default_factory=list)

    def first(self) -> str:
        for messages in (self.generator, self.kustomize, self.post_build):
            if messages:
                return messages[0]
        return ""


class Builder:
    def __init__(
        self,
        files: Mapping[str, bytes],
        overlay: Layer | None = None,
        flux_components: tuple[str, ...] = (),
    ) -> None:
        self.files = files
        # The Flux Kustomization's fields, written over the kustomization at spec.path.
        self.overlay = overlay or Layer("Kustomization")
        self.flux_components = flux_components
        self.ignore_missing_components = False
        self.log = PlacementLog()
        self._chain: list[Layer] = []  # the kustomizations being built, outermost first
        self.tree = RepoTree(files)
        self.failures: dict[str, FileFailure] = {}
        self.reached: set[str] = set()
        self.objects: list[tuple[str, DecodedObject]] = []
        self.stage = _Stage()
        self._decoded: dict[str, list[DecodedObject] | DecodeError] = {}
        self._visiting: set[str] = set()
        # Each kustomization's resources by id (kustomize's ResMap): (file, printed id).
        self._scopes: list[dict[ResourceKey, tuple[str, str]]] = [{}]
        self._last_scope: dict[ResourceKey, tuple[str, str]] = {}
        # What the fixes need to know about the graph the build walked.
        self.generated_resources: list[tuple[str, bool]] = []
        self.kustomization_dirs: set[str] = set()

    def _fail(self, path: str, message: str) -> None:
        self.failures.setdefault(path, FileFailure(path, message))

    def decode(self, path: str) -> list[DecodedObject]:
        if path not in self._decoded:
            try:
                self._decoded[path] = decode_manifests(self.files[path])
            except DecodeError as err:
                self._decoded[path] = err
        result = self._decoded[path]
        if isinstance(result, DecodeError):
            raise result
        return result

    # -- generated kustomization.yaml (no kustomization file at spec.path) ------------

    def generate(self, base: str) -> None:
        wrap: Callable[[str], str] = lambda message: f"kustomize build failed: {message}"  # noqa: E731
        self._chain.append(Layer("the generated kustomization.yaml").under(self.overlay))
        try:
            self._generate(base, wrap)
            generated = f"{base}/kustomization.yaml" if base else "kustomization.yaml"
            for entry in self._flux_components(base):
                message = self._component(base, generated, entry, wrap)
                if message:
                    self.stage.kustomize.append(wrap(f"accumulating components: {message}"))
        finally:
            self._chain.pop()

    def _flux_components(self, directory: str) -> list[str]:
        """spec.components, minus missing ones when ignoreMissingComponents is set."""
        kept = []
        for entry in self.flux_components:
            try:
                target = join_repo_path(directory, entry)
            except ValueError:
                target = ""
            if self.ignore_missing_components and target not in self.tree.dirs:
                continue
            kept.append(entry)
        return kept

    def _generate(self, base: str, wrap: Callable[[str], str]) -> None:
        for path, is_dir in self._scan(base):
            self.generated_resources.append((path, is_dir))
            entry = "./" + path[len(base) + 1 :] if base else "./" + path
            if is_dir:
                message = self._entry_dir(path, entry, wrap, via_kustomization=path)
            else:
                message = self._add_objects(path, entry, wrap)
            if message:
                self.stage.kustomize.append(wrap(f"accumulating resources: {message}"))

    def _scan(self, directory: str) -> Iterator[tuple[str, bool]]:
        for path, is_dir in self.tree.walk_files(directory):
            if is_dir:
                if kustomization_file_in(self.files, path):
                    yield path, True
                else:
                    yield from self._scan(path)
                continue
            if not is_manifest_candidate(path):
                continue
            self.reached.add(path)
            try:
                self.decode(path)
            except DecodeError as err:
                message = f"failed to decode Kubernetes YAML from {absolute(path)}: {err.message}"
                self._fail(path, message)
                self.stage.generator.append(message)
                continue
            yield path, False

    def _add_objects(self, path: str, entry: str, wrap: Callable[[str], str]) -> str | None:
        scope = self._scopes[-1]
        for obj in self.decode(path):
            key = resource_key(obj.api_version, obj.kind, obj.name, obj.namespace)
            printed = resource_id(obj.api_version, obj.kind, obj.name, obj.namespace)
            if key in scope:
                message = (
                    f"accumulation err='merging resources from '{entry}': "
                    f"{already_registered(printed)}': must build at directory: "
                    f"'{absolute(path)}': file is not directory"
                )
                self._fail(path, wrap(f"accumulating resources: {message}"))
                return message
            scope[key] = (path, printed)
            self.objects.append((path, obj))
            self.log.record(path, obj.kind, obj.namespace, obj.name, self._chain[::-1])
        return None

    def _merge_last_scope(self) -> tuple[str, str] | None:
        """A sub-kustomization's resources into the current one: (file, error) on a clash."""
        scope = self._scopes[-1]
        for key, (path, printed) in self._last_scope.items():
            if key in scope:
                return path, already_registered(printed)
            scope[key] = (path, printed)
        return None

    # -- an existing kustomization file --------------------------------------------

    def build_dir(self, directory: str, wrap: Callable[[str], str], top: bool) -> str | None:
        """Accumulate `directory`'s kustomization; returns kustomize's first error."""
        kfiles = kustomization_files_in(self.files, directory)
        kfile = kfiles[0]
        if directory in self._visiting:
            message = (
                f"cycle detected: candidate root '{absolute(directory)}' contains visited root"
            )
            self._fail(kfile, wrap(message))
            return message
        self._visiting.add(directory)
        self.kustomization_dirs.add(directory)
        if not top:
            self._scopes.append({})
        try:
            return self._build_dir(directory, kfiles, wrap, top)
        finally:
            self._visiting.discard(directory)
            if not top:
                self._last_scope = self._scopes.pop()

    def _build_dir(
        self, directory: str, kfiles: list[str], wrap: Callable[[str], str], top: bool
    ) -> str | None:
        kfile = kfiles[0]
        first: str | None = None
        if len(kfiles) > 1:
            first = f"Found multiple kustomization files under: {absolute(directory)}"
            self._fail(kfile, wrap(first))
        try:
            spec = load_kustomization(self.files[kfile])
        except DecodeError as err:
            self._fail(kfile, wrap(err.message))
            return first or err.message
        meaningful = {
            k for k, v in spec.items() if k not in ("apiVersion", "kind") and v is not None
        }
        if not top and not meaningful:
            # Flux only fills in an empty kustomization at spec.path, not below it.
            empty = "kustomization.yaml is empty"
            self._fail(kfile, wrap(empty))
            return first or empty
        layer = Layer.from_spec(kfile, spec)
        self._chain.append(layer.under(self.overlay) if top else layer)
        try:
            return self._accumulate(directory, kfile, spec, wrap, top, first)
        finally:
            self._chain.pop()

    def _accumulate(
        self,
        directory: str,
        kfile: str,
        spec: dict[str, Any],
        wrap: Callable[[str], str],
        top: bool,
        first: str | None,
    ) -> str | None:
        entries = string_entries(spec.get("resources")) + string_entries(spec.get("bases"))
        for entry in entries:
            error = self._entry(directory, kfile, entry, wrap)
            if error and first is None:
                first = f"accumulating resources: {error}"
        components = string_entries(spec.get("components"))
        if top:
            components += self._flux_components(directory)
        for entry in components:
            error = self._component(directory, kfile, entry, wrap)
            if error and first is None:
                first = f"accumulating components: {error}"
        return first

    def _entry(
        self, directory: str, kfile: str, entry: str, wrap: Callable[[str], str]
    ) -> str | None:
        if is_remote(entry):
            return None
        try:
            target = join_repo_path(directory, entry)
        except ValueError:
            message = (
                f"accumulation err='accumulating resources from '{entry}': security; file "
                f"'{entry}' is not in or below '{TMP_DIR}''"
            )
            self._fail(kfile, wrap(f"accumulating resources: {message}"))
            return message
        target_abs = absolute(target)
        if target in self.files:
            self.reached.add(target)
            try:
                return self._add_objects(target, entry, wrap)
            except DecodeError as err:
                if err.malformed:
                    message = (
                        f"accumulating resources from '{entry}': {err.message} in File: {entry}"
                    )
                else:
                    message = (
                        f"accumulation err='accumulating resources from '{entry}': {err.message}': "
                        f"must build at directory: '{target_abs}': file is not directory"
                    )
                self._fail(target, wrap(f"accumulating resources: {message}"))
                return message
        if target in self.tree.dirs:
            return self._entry_dir(target, entry, wrap, via_kustomization=kfile)
        lstat = (
            f"evalsymlink failure on '{target_abs}' : lstat {target_abs}: no such file or directory"
        )
        message = (
            # Flux loads with LoadRestrictionsNone, where kustomize words it this way.
            f"accumulation err='accumulating resources from '{entry}': open {target_abs}: "
            f"no such file or directory': must build at directory: not a valid directory: {lstat}"
        )
        self._fail(kfile, wrap(f"accumulating resources: {message}"))
        return message

    def _entry_dir(
        self, target: str, entry: str, wrap: Callable[[str], str], via_kustomization: str
    ) -> str | None:
        target_abs = absolute(target)
        head = (
            f"accumulation err='accumulating resources from '{entry}': "
            f"read {target_abs}: is a directory'"
        )
        if kustomization_file_in(self.files, target) is None:
            message = (
                f"{head}: couldn't make target for path '{target_abs}': unable to find one of "
                f"'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory "
                f"'{target_abs}'"
            )
            self._fail(via_kustomization, wrap(f"accumulating resources: {message}"))
            return message

        def nested(message: str) -> str:
            return wrap(
                f"accumulating resources: {head}: recursed accumulation of path '{target_abs}': "
                f"{message}"
            )

        inner = self.build_dir(target, nested, top=False)
        if inner is None:
            clash = self._merge_last_scope()
            if clash is None:
                return None
            path, registered = clash
            message = f"{head}: recursed merging from path '{target_abs}': {registered}"
            self._fail(path, wrap(f"accumulating resources: {message}"))
            return message
        return f"{head}: recursed accumulation of path '{target_abs}': {inner}"

    def _component(
        self, directory: str, kfile: str, entry: str, wrap: Callable[[str], str]
    ) -> str | None:
        if is_remote(entry):
            return None
        try:
            target = join_repo_path(directory, entry)
        except ValueError:
            target = ""
        if target and target in self.tree.dirs and kustomization_file_in(self.files, target):
            return self.build_dir(target, wrap, top=False)
        missing = self._first_missing(target) if target else None
        if missing is not None:
            # kustomize's loader resolves the path first (filepath.EvalSymlinks).
            message = (
                'loader.New "must build at directory: not a valid directory: evalsymlink '
                f"failure on '{absolute(target)}' : lstat {absolute(missing)}: "
                'no such file or directory"'
            )
            self._fail(target, wrap(f"accumulating components: {message}"))
            return message
        else:
            message = (
                f"accumulation err='accumulating components from '{entry}': "
                f"'{absolute(target)}' must be a directory containing a Component'"
            )
        self._fail(kfile, wrap(f"accumulating components: {message}"))
        return message

    def _first_missing(self, path: str) -> str | None:
        """The first prefix of `path` that is neither a directory nor a file, if any."""
        parts = path.split("/")
        for end in range(1, len(parts) + 1):
            prefix = "/".join(parts[:end])
            if prefix not in self.tree.dirs and prefix not in self.files:
                return prefix
        return None

    # -- after kustomize --------------------------------------------------------------

    def check_duplicate_keys(self) -> None:
        """kustomize's build decodes each resource into a map: a repeated key fails it."""
        for path in dict.fromkeys(path for path, _ in self.objects):
            complaint = duplicate_key_error(self.files[path])
            if complaint:
                message = f"kustomize build failed: {complaint}"
                self._fail(path, message)
                self.stage.kustomize.append(message)

    def check_objects(self) -> None:
        """kustomize-controller refuses objects lacking apiVersion, kind or name."""
        for path, obj in self.objects:
            if obj.api_version and obj.kind and obj.name:
                continue
            message = (
                "failed to decode Kubernetes apiVersion, kind and name from: "
                f"{{apiVersion: {obj.api_version}, kind: {obj.kind}, name: {obj.name}}}"
            )
            self._fail(path, message)
            self.stage.post_build.append(message)
