"""Diagnosis of Flux and agentk failures, in every wording Flux versions used."""

from __future__ import annotations

from typing import Any

import pytest

from kasboot.flux.diagnose import diagnose


def failing(kind: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "status": {
            "conditions": [
                {"type": "Ready", "status": "False", "reason": reason, "message": message},
                {"type": "Reconciling", "status": "True", "reason": "ProgressingWithRetry"},
            ]
        },
    }


CONFIG = ".gitlab/agents/my-agent/config.yaml"
DECODE = f"failed to decode Kubernetes YAML from /tmp/kustomization-3555084269/{CONFIG}"


@pytest.mark.parametrize(
    "message",
    [
        f"{DECODE}: missing Resource metadata <nil>",  # Flux <= 2.8
        f"{DECODE}: missing Resource metadata",  # Flux 2.9
        f"kustomize create failed: {DECODE}: missing Resource metadata",  # older
        f"failed to generate kustomization.yaml: {DECODE}: missing Resource metadata <nil> <nil>",
    ],
)
def test_root_path_trap_in_every_wording(message: str) -> None:
    diagnosis = diagnose("Kustomization", failing("Kustomization", "BuildFailed", message))
    assert diagnosis is not None
    assert (diagnosis.code, diagnosis.file) == ("root-path-trap", CONFIG)
    assert "config.yaml" in diagnosis.cause and ".sourceignore" in diagnosis.fix
    agent = CONFIG.split("/")[2]
    assert f"`kasboot bootstrap {agent} --fix sourceignore`" in diagnosis.fix
    assert diagnosis.detail == message


def test_other_non_kubernetes_yaml_names_the_file() -> None:
    message = (
        "failed to decode Kubernetes YAML from /tmp/kustomization-1/clusters/staging/sops.yaml: "
        "missing Resource metadata <nil>"
    )
    diagnosis = diagnose("Kustomization", failing("Kustomization", "BuildFailed", message))
    assert diagnosis is not None
    assert (diagnosis.code, diagnosis.file) == ("non-kubernetes-yaml", "clusters/staging/sops.yaml")


T = "/tmp/kustomization-42"
CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]], str, str | None]] = [
    (
        "Kustomization",
        failing(
            "Kustomization",
            "BuildFailed",
            f"kustomize build failed: accumulating resources: accumulation err='accumulating "
            f"resources from 'agent': '{T}/agent' must resolve to a file': couldn't make target "
            f"for path '{T}/agent': unable to find one of 'kustomization.yaml', "
            f"'kustomization.yml' or 'Kustomization' in directory '{T}/agent'",
        ),
        [],
        "directory-without-kustomization",
        "agent",
    ),
    (
        "Kustomization",
        failing(
            "Kustomization",
            "BuildFailed",
            f"kustomize build failed: accumulating resources: accumulation err='accumulating "
            f"resources from 'config.yaml': missing Resource metadata': must build at directory: "
            f"'{T}/config.yaml': file is not directory",
        ),
        [],
        "listed-file-not-manifest",
        "config.yaml",
    ),
    (
        "Kustomization",
        failing(
            "Kustomization",
            "BuildFailed",
            f"kustomize build failed: accumulating resources: accumulation err='accumulating "
            f"resources from 'x.yaml': evalsymlink failure on '{T}/x.yaml' : lstat {T}/x.yaml: "
            "no such file or directory': must build at directory: not a valid directory",
        ),
        [],
        "listed-file-missing",
        "x.yaml",
    ),
    (
        "Kustomization",
        failing(
            "Kustomization",
            "ArtifactFailed",
            f"kustomization path not found: stat {T}/clusters/prod: no such file or directory",
        ),
        [],
        "path-not-found",
        "clusters/prod",
    ),
    (
        "Kustomization",
        failing("Kustomization", "ArtifactFailed", "Source artifact not found, retrying in 30s"),
        [],
        "source-not-ready",
        None,
    ),
    (
        "GitRepository",
        failing(
            "GitRepository",
            "GitOperationFailed",
            "failed to checkout and determine revision: unable to clone "
            "'https://gitlab.example.com/demo/fleet.git': authentication required",
        ),
        [],
        "source-auth-failed",
        None,
    ),
    (
        "GitRepository",
        failing(
            "GitRepository",
            "AuthenticationFailed",
            "failed to get secret 'flux-system/flux-system': secrets \"flux-system\" not found",
        ),
        [],
        "source-secret-missing",
        None,
    ),
    (
        "HelmRelease",
        failing(
            "HelmRelease",
            "InstallFailed",
            "Helm install failed for release gitlab-agent/gitlab-agent with chart "
            "gitlab-agent@2.12.2: resource Deployment/gitlab-agent/gitlab-agent not ready. "
            "status: InProgress, message: Available: 0/1; MountVolume.SetUp failed for volume "
            '"token-volume" : secret "gitlab-agent-token" not found: context deadline exceeded',
        ),
        [],
        "token-secret-missing",
        None,
    ),
    (
        "HelmRelease",
        failing(
            "HelmRelease",
            "InstallFailed",
            'MountVolume.SetUp failed for volume "token-volume" : references non-existent '
            "secret key: token: context deadline exceeded",
        ),
        [],
        "token-secret-key-missing",
        None,
    ),
    (
        "Pod",
        {"kind": "Pod", "status": {}},
        [
            {
                "type": "Warning",
                "reason": "Failed",
                "message": "Error: couldn't find key token in Secret "
                "gitlab-agent/gitlab-agent-token",
            }
        ],
        "token-secret-key-missing",
        None,
    ),
    (
        "HelmRelease",
        failing(
            "HelmRelease",
            "ArtifactFailed",
            "HelmChart 'flux-system/flux-system-gitlab-agent' is not ready: chart pull error",
        ),
        [],
        "chart-source-not-ready",
        None,
    ),
    (
        "HelmChart",
        failing(
            "HelmChart",
            "ChartPullError",
            "invalid chart reference: failed to get chart version for remote reference: "
            "no 'gitlab-agent' chart with version matching '9.9.9' found",
        ),
        [],
        "chart-version-not-found",
        None,
    ),
    (
        "HelmRepository",
        failing(
            "HelmRepository",
            "FetchFailed",
            "failed to fetch Helm repository index: failed to cache index to temporary file: "
            'Get "https://charts.gitlab.io/index.yaml": dial tcp: lookup charts.gitlab.io: '
            "no such host",
        ),
        [],
        "helm-repository-fetch-failed",
        None,
    ),
]

AGENT_LOGS = [
    (
        '{"level":"error","msg":"Error handling a connection","error":"rpc error: code = '
        'Unauthenticated desc = unauthenticated"}',
        "agent-token-rejected",
    ),
    (
        '{"level":"error","msg":"Error handling a connection","error":"failed to WebSocket dial: '
        'failed to send handshake request: Get \\"https://kas.example.com\\": x509: '
        'certificate signed by unknown authority"}',
        "kas-x509-unknown-authority",
    ),
    (
        "failed to WebSocket dial: failed to send handshake request: Get "
        '"wss://kas.example.com/": proxyconnect tcp: dial tcp 10.0.0.1:3128: connect: '
        "connection refused",
        "kas-proxy-error",
    ),
    (
        'failed to WebSocket dial: Get "https://kas.example.com": dial tcp: lookup '
        "kas.example.com on 10.96.0.10:53: no such host",
        "kas-unreachable",
    ),
    (
        'time="2020-10-29T04:44:14Z" level=warning msg="Config: failed to fetch" agent_id=2 '
        'error="configuration file not found: \\".gitlab/agents/test-agent/config.yaml\\""',
        "agent-config-not-found",
    ),
    (
        '{"level":"warn","msg":"GitOps: failed to get project info","agent_id":4,'
        '"error":"error kind: 0; status: 404"}',
        "agent-project-not-found",
    ),
]


@pytest.mark.parametrize(
    ("kind", "obj", "events", "code", "file"), CASES, ids=[case[3] for case in CASES]
)
def test_flux_failures(
    kind: str, obj: dict[str, Any], events: list[dict[str, Any]], code: str, file: str | None
) -> None:
    diagnosis = diagnose(kind, obj, events)
    assert diagnosis is not None
    assert (diagnosis.code, diagnosis.file) == (code, file)
    assert diagnosis.cause and diagnosis.fix


@pytest.mark.parametrize(("line", "code"), AGENT_LOGS, ids=[code for _, code in AGENT_LOGS])
def test_agentk_log_lines(line: str, code: str) -> None:
    diagnosis = diagnose("agentk", {"logs": ["starting agentk", line]})
    assert diagnosis is not None and diagnosis.code == code


def test_x509_fix_names_the_kas_ca_flag() -> None:
    diagnosis = diagnose("agentk", {"logs": "x509: certificate signed by unknown authority"})
    assert diagnosis is not None and "--kas-ca-cert" in diagnosis.fix


def test_agent_config_path_is_named() -> None:
    diagnosis = diagnose("agentk", {"logs": AGENT_LOGS[4][0]})
    assert diagnosis is not None and diagnosis.file == ".gitlab/agents/test-agent/config.yaml"


def test_healthy_objects_have_no_diagnosis() -> None:
    ready = {
        "kind": "Kustomization",
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "ReconciliationSucceeded",
                    "message": "Applied revision: main@sha1:abc",
                }
            ]
        },
    }
    assert diagnose("Kustomization", ready) is None


def test_warning_events_are_read_when_conditions_say_little() -> None:
    obj = failing("Kustomization", "BuildFailed", "")
    events = [
        {"type": "Normal", "message": "Reconciliation started"},
        {"type": "Warning", "message": f"{DECODE}: missing Resource metadata"},
    ]
    diagnosis = diagnose("Kustomization", obj, events)
    assert diagnosis is not None and diagnosis.code == "root-path-trap"
