"""From what Flux and agentk report (conditions, events, log lines) to cause and fix.

Each rule is a regular expression over one message, tried in order: Flux's build
failures first (in all wordings Flux versions used), then per kind. The temp
directory kustomize-controller builds in (`/tmp/kustomization-<n>/`) is stripped,
so the file named is the repository path the user has to change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kasboot.flux.health import condition


@dataclass(frozen=True)
class Diagnosis:
    cause: str  # one line: what went wrong
    detail: str  # the message it was recognised in, verbatim
    fix: str  # one line: what to do
    file: str | None  # repository path to change, when there is one
    code: str = ""  # stable identifier, e.g. "root-path-trap"


_TMP_PREFIX = re.compile(r"^/tmp/kustomization-[^/]+/?")
_AGENT_CONFIG = re.compile(r"^\.gitlab/agents/(?P<agent>[^/]+)/config\.ya?ml$")
_AGENT_KINDS = frozenset({"agentk", "agent", "pod", "deployment", "replicaset"})
_SOURCE_KINDS = frozenset({"gitrepository", "ocirepository", "bucket"})
_RELEASE_KINDS = _AGENT_KINDS | {"helmrelease"}


def repo_path(path: str) -> str:
    """A path inside kustomize-controller's temp dir, as a repository path."""
    return _TMP_PREFIX.sub("", path.strip("'\"")).rstrip("/") or "."


_Builder = Callable[[re.Match[str], str], Diagnosis]


def _decode_failure(match: re.Match[str], message: str) -> Diagnosis:
    file = repo_path(match.group("path"))
    agent = _AGENT_CONFIG.match(file)
    if agent:
        return Diagnosis(
            cause=(
                f"the Flux Kustomization's path contains the GitLab agent's {file}, which is not "
                "a Kubernetes manifest, so Flux's generated kustomization fails (root-path trap)"
            ),
            detail=message,
            fix=(
                f"run `kasboot bootstrap {agent.group(1)} --fix sourceignore` (commits a root "
                ".sourceignore excluding /.gitlab/) or `--fix add-kustomization` (commits a "
                "kustomization.yaml at the Flux path listing what to apply); or by hand: "
                "spec.ignore on the GitRepository, or point Flux at a sub-directory"
            ),
            file=file,
            code="root-path-trap",
        )
    return Diagnosis(
        cause=f"{file} lies under the Flux Kustomization's path but is not a Kubernetes manifest",
        detail=message,
        fix=(
            f"remove or rename {file} (only .yaml/.yml files are built), exclude it in "
            ".sourceignore, or add a kustomization.yaml listing what to apply"
        ),
        file=file,
        code="non-kubernetes-yaml",
    )


def _panic(match: re.Match[str], message: str) -> Diagnosis:
    name = match.group("name")
    return Diagnosis(
        f"kustomize could not parse {name}", message, f"fix the YAML of {name}", name, "yaml-panic"
    )


def _dir_without_kustomization(match: re.Match[str], message: str) -> Diagnosis:
    directory = repo_path(match.group("dir"))
    return Diagnosis(
        cause=f"a kustomization lists the directory {directory}, which has no kustomization file",
        detail=message,
        fix=(
            f"add {directory}/kustomization.yaml listing its manifests, or list the files "
            "instead of the directory"
        ),
        file=directory,
        code="directory-without-kustomization",
    )


def _listed_not_manifest(match: re.Match[str], message: str) -> Diagnosis:
    file = repo_path(match.group("path"))
    return Diagnosis(
        cause=f"a kustomization lists {file}, which is not a Kubernetes manifest",
        detail=message,
        fix=f"remove {match.group('entry')} from the kustomization's resources, or fix {file}",
        file=file,
        code="listed-file-not-manifest",
    )


def _listed_missing(match: re.Match[str], message: str) -> Diagnosis:
    file = repo_path(match.group("path"))
    return Diagnosis(
        cause=f"a kustomization lists {file}, which does not exist",
        detail=message,
        fix=f"commit {file} or remove it from the kustomization's resources",
        file=file,
        code="listed-file-missing",
    )


def _build_failed(match: re.Match[str], message: str) -> Diagnosis:
    return Diagnosis(
        "kustomize could not build the Flux Kustomization's path",
        message,
        "reproduce with `kubectl kustomize <path>` on a checkout and fix what it reports",
        None,
        "kustomize-build-failed",
    )


def _path_not_found(match: re.Match[str], message: str) -> Diagnosis:
    path = repo_path(match.group("path"))
    return Diagnosis(
        cause=f"the Flux Kustomization's spec.path ./{path} does not exist in the source",
        detail=message,
        fix=f"commit files under {path}/ or correct spec.path (and the branch Flux follows)",
        file=path,
        code="path-not-found",
    )


def _fixed(cause: str, fix: str, code: str, file_group: str | None = None) -> _Builder:
    def build(match: re.Match[str], message: str) -> Diagnosis:
        values = match.groupdict()
        file = repo_path(values[file_group]) if file_group and values.get(file_group) else None
        return Diagnosis(cause.format(**values), message, fix.format(**values), file, code)

    return build


_ANY: frozenset[str] = frozenset()
_DECODE = (
    r"(?:kustomize create failed: )?(?:failed to generate kustomization\.yaml: )?"
    r"failed to decode Kubernetes YAML from (?P<path>\S+?): (?P<reason>.+?)(?: <nil>)*$"
)

# (kinds the rule applies to, or _ANY for every kind; pattern; builder)
_RULES: list[tuple[frozenset[str], str, _Builder]] = [
    (_ANY, _DECODE, _decode_failure),
    (_ANY, r"recovered from panic while parsing YAML file (?P<name>\S+)", _panic),
    (
        _ANY,
        r"unable to find one of 'kustomization\.yaml', 'kustomization\.yml' or "
        r"'Kustomization' in directory '(?P<dir>[^']+)'",
        _dir_without_kustomization,
    ),
    (
        _ANY,
        r"accumulating resources from '(?P<entry>[^']+)': (?:missing Resource metadata|"
        r"missing kind|missing metadata\.name)[^\n]*?must build at directory: '(?P<path>[^']+)'",
        _listed_not_manifest,
    ),
    (_ANY, r"evalsymlink failure on '(?P<path>[^']+)' : lstat", _listed_missing),
    (_ANY, r"kustomization path not found: stat (?P<path>\S+?):", _path_not_found),
    (_ANY, r"kustomize build failed: ", _build_failed),
    # token Secret of the agent (pod events, helm-controller wait failures)
    (
        _RELEASE_KINDS,
        r"couldn't find key token in Secret (?P<secret>\S+)|references non-existent secret "
        r"key: token|secret \"(?P<name>[^\"]+)\" (?:has no|is missing) key \"?token",
        _fixed(
            "the agent's token Secret has no key `token`",
            "recreate the Secret with the token under key `token` (kasboot bootstrap does)",
            "token-secret-key-missing",
        ),
    ),
    (
        _RELEASE_KINDS,
        r"secrets? \"(?P<name>[^\"]+)\" not found",
        _fixed(
            "the Secret {name} that the agent reads its token from does not exist",
            "create Secret {name} with key `token` in the agent's namespace (kasboot bootstrap "
            "does), or point config.secretName at the right Secret",
            "token-secret-missing",
        ),
    ),
    # chart source
    (
        _ANY,
        r"no '(?P<chart>[^']+)' chart with version matching '(?P<version>[^']*)'",
        _fixed(
            "chart {chart} has no version matching '{version}' in its Helm repository",
            "set spec.chart.spec.version of the HelmRelease to a version the repository has, "
            "or remove it to follow the latest chart",
            "chart-version-not-found",
        ),
    ),
    (
        _ANY,
        r"failed to fetch Helm repository index|failed to cache index|"
        r"url scheme '[^']*' not supported|invalid Helm repository URL",
        _fixed(
            "the HelmRepository cannot fetch its index",
            "check spec.url of the HelmRepository (https://charts.gitlab.io) and that the "
            "cluster can reach it (proxy, DNS, egress)",
            "helm-repository-fetch-failed",
        ),
    ),
    (
        frozenset({"helmrelease"}),
        r"HelmChart '(?P<chart>[^']+)' is not ready|HelmChart '(?P<c2>[^']+)' not found|"
        r"(?:latest generation of object has not been reconciled)",
        _fixed(
            "the HelmRelease's chart source is not ready",
            "check the HelmRepository and HelmChart: flux get sources helm -A; flux get sources "
            "chart -A",
            "chart-source-not-ready",
        ),
    ),
    # agentk connecting to KAS
    (
        _AGENT_KINDS,
        r"x509: certificate signed by unknown authority",
        _fixed(
            "agentk does not trust KAS's TLS certificate (signed by an unknown authority)",
            "pass the CA that signed KAS's certificate: --kas-ca-cert <PEM file> "
            "(chart value config.kasCaCert)",
            "kas-x509-unknown-authority",
        ),
    ),
    (
        _AGENT_KINDS,
        r"x509: certificate is valid for (?P<names>.+?), not (?P<host>\S+)",
        _fixed(
            "KAS's certificate is not valid for {host}",
            "use the KAS address the certificate names (GitLab /metadata kas.externalUrl)",
            "kas-x509-hostname",
        ),
    ),
    (
        _AGENT_KINDS,
        r"proxyconnect|Proxy Authentication Required|\b407\b|proxy: ",
        _fixed(
            "agentk cannot get through the HTTP proxy",
            "set HTTPS_PROXY / NO_PROXY for agentk (chart value extraEnv) to a working proxy",
            "kas-proxy-error",
        ),
    ),
    (
        _AGENT_KINDS,
        r"Unauthenticated|\b401\b|[Uu]nauthorized|invalid token|token (?:is )?revoked",
        _fixed(
            "KAS rejected the agent's token (revoked or invalid)",
            "mint a new token and update the Secret: kasboot token rotate <agent>",
            "agent-token-rejected",
        ),
    ),
    (
        _AGENT_KINDS,
        r"configuration file not found: \\?\"?(?P<path>[^\"\\]+)",
        _fixed(
            "KAS cannot find the agent's configuration file {path}",
            "commit {path} to the project the agent is registered in (default branch)",
            "agent-config-not-found",
            "path",
        ),
    ),
    (
        _AGENT_KINDS,
        r"GitOps: failed to get project info",
        _fixed(
            "KAS cannot read the project named in the agent's configuration",
            "check the project path in config.yaml and that the agent can access it",
            "agent-project-not-found",
        ),
    ),
    (
        _AGENT_KINDS,
        # coder/websocket's dial: "expected handshake response status code 101 but got 404"
        r"bad handshake|unexpected HTTP status 40[04]|websocket: .*404|"
        r"status code 101 but got 40[04]",
        _fixed(
            "the KAS address does not answer as KAS (wrong path or host)",
            "use GitLab's /metadata kas.externalUrl as kasAddress (wss://…/-/kubernetes-agent/)",
            "kas-wrong-address",
        ),
    ),
    (
        _AGENT_KINDS,
        r"connection refused|no such host|i/o timeout|network is unreachable|"
        r"context deadline exceeded|connection reset",
        _fixed(
            "agentk cannot reach KAS",
            "check kasAddress (GitLab /metadata kas.externalUrl), DNS and egress from the "
            "cluster; behind a proxy set HTTPS_PROXY via extraEnv",
            "kas-unreachable",
        ),
    ),
    # sources
    (
        _SOURCE_KINDS,
        r"authentication required|authorization failed|invalid credentials|"
        r"Authentication failed|HTTP 401|status code: 401",
        _fixed(
            "Flux cannot authenticate to the Git repository",
            "renew the credentials in the source's secretRef (flux create secret git …)",
            "source-auth-failed",
        ),
    ),
    (
        _SOURCE_KINDS | {"helmrepository"},
        r"failed to get secret '(?P<secret>[^']+)'",
        _fixed(
            "the source's secretRef Secret {secret} does not exist",
            "create it (flux create secret git …) or correct spec.secretRef",
            "source-secret-missing",
        ),
    ),
    (
        _SOURCE_KINDS,
        r"couldn't find remote ref (?P<ref>\S+)|reference not found",
        _fixed(
            "the branch Flux follows does not exist",
            "push the branch or correct spec.ref of the GitRepository",
            "source-ref-not-found",
        ),
    ),
    (
        _SOURCE_KINDS,
        r"x509: certificate signed by unknown authority",
        _fixed(
            "Flux does not trust the Git server's TLS certificate",
            "add the CA as ca.crt to the source's secretRef",
            "source-x509",
        ),
    ),
    (
        frozenset({"kustomization", "helmrelease"}),
        r"[Ss]ource (?:artifact )?(?:is )?not (?:found|ready)|Source '[^']+' not found|"
        r"ArtifactFailed",
        _fixed(
            "the Flux source has no artifact to build from",
            "check the source: flux get sources all -A (see its Ready message)",
            "source-not-ready",
        ),
    ),
    (
        frozenset({"helmrelease"}),
        r"could not resolve (?P<kind>Secret|ConfigMap) chart values reference "
        r"'(?P<ref>[^']+)' with key '(?P<key>[^']+)'",
        _fixed(
            "the HelmRelease's valuesFrom {kind} {ref} (key {key}) is missing",
            "create it in the HelmRelease's namespace, or drop --helm-release-values-from",
            "values-from-missing",
        ),
    ),
    (  # last: the cause of the failed attempt, when recognised, is more telling
        frozenset({"helmrelease"}),
        r"Failed to (?P<action>install|upgrade) after \d+ attempt\(s\)",
        _fixed(
            "helm-controller gave up after the failed {action} (no retries left: Stalled)",
            "fix the cause, then re-run kasboot bootstrap (it resets the release), or "
            "`flux reconcile helmrelease <name> --reset --force`",
            "release-retries-exceeded",
        ),
    ),
]
_COMPILED = [(kinds, re.compile(pattern, re.MULTILINE), build) for kinds, pattern, build in _RULES]


def _messages(obj: dict[str, Any], events: Sequence[dict[str, Any]]) -> list[str]:
    """What the object and its events say, most telling first."""
    messages: list[str] = []
    ready = condition(obj, "Ready")
    if ready is not None and ready.get("status") != "True":
        messages.append(str(ready.get("message", "")))
    for entry in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(entry, dict) and entry is not ready and entry.get("message"):
            messages.append(str(entry["message"]))
    for status in (obj.get("status") or {}).get("containerStatuses") or []:
        for state in ((status or {}).get("state") or {}).values():
            if isinstance(state, dict) and state.get("message"):
                messages.append(str(state["message"]))
    ordered = sorted(events, key=lambda e: e.get("type") != "Warning")
    messages += [str(event.get("message") or event.get("note") or "") for event in ordered]
    logs = obj.get("logs")
    if isinstance(logs, str):
        messages += logs.splitlines()
    elif isinstance(logs, Iterable):
        messages += [str(line) for line in logs]
    if ready is not None and ready.get("status") == "False" and ready.get("reason"):
        messages.append(str(ready["reason"]))  # some causes show only in the reason
    return [message for message in messages if message.strip()]


def diagnose(
    kind: str, obj: dict[str, Any], events: Sequence[dict[str, Any]] = ()
) -> Diagnosis | None:
    """The first recognised cause in what `obj` (of `kind`) and its events report.

    `kind` is the Kubernetes kind (GitRepository, Kustomization, HelmRelease, Pod, ...)
    or "agentk" for agent log lines, which may be passed as `obj["logs"]`.
    """
    kind_key = kind.lower()
    messages = _messages(obj, events)
    for kinds, pattern, build in _COMPILED:
        if kinds and kind_key not in kinds:
            continue
        for message in messages:
            match = pattern.search(message)
            if match:
                return build(match, message)
    return None
