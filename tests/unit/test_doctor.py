"""The doctor's pure logic: GitLab's agent version rule, the report's exit code, times,
the agent's health verdict, collisions between HelmReleases and the Secret's reading."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, cast

import pytest

from kasboot.doctor.agent_checks import release_collisions
from kasboot.doctor.agent_state import AgentState, ReleaseInfo, SecretInfo, TokenInfo, secret_info
from kasboot.doctor.cluster_checks import find_agentk
from kasboot.doctor.context import DoctorContext, ago, parse_gitlab_time
from kasboot.doctor.gitlab_checks import _expiry
from kasboot.doctor.model import Outcome, Report, failed, passed, skipped, warned
from kasboot.doctor.status import status_document, status_exit_code
from kasboot.doctor.versions import (
    Compatibility,
    Version,
    agent_compatibility,
    image_tag,
    parse_version,
)
from kasboot.errors import ExitCode
from kasboot.flux.health import Phase
from kasboot.settings import build_settings

NOW = datetime(2025, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17.11.0", Version(17, 11, 0)),
        ("v17.11.2", Version(17, 11, 2)),
        ("17.11.0-ee", Version(17, 11, 0)),
        ("v18.0.0-rc1", Version(18, 0, 0)),
        ("16.9", Version(16, 9, 0)),
        ("latest", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_version(text: str | None, expected: Version | None) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize(
    ("gitlab", "agent", "verdict"),
    [
        # GitLab's own example: 14.9.4 → 14.9.x ideal, 14.8.x and 14.10.x supported
        ("14.9.4", "v14.9.0", Compatibility.IDEAL),
        ("14.9.4", "v14.9.1", Compatibility.IDEAL),
        ("14.9.4", "v14.8.3", Compatibility.SUPPORTED),
        ("14.9.4", "v14.10.0", Compatibility.SUPPORTED),
        ("14.9.4", "v14.7.0", Compatibility.UNSUPPORTED),
        ("14.9.4", "v14.11.0", Compatibility.UNSUPPORTED),
        ("17.0.1", "v16.11.0", Compatibility.UNCERTAIN),
        ("16.11.0", "v17.0.0", Compatibility.UNCERTAIN),
        ("17.1.0", "v16.11.0", Compatibility.UNSUPPORTED),
        ("18.0.0", "v16.11.0", Compatibility.UNSUPPORTED),
    ],
)
def test_agent_version_rule(gitlab: str, agent: str, verdict: Compatibility) -> None:
    parsed_gitlab, parsed_agent = parse_version(gitlab), parse_version(agent)
    assert parsed_gitlab is not None and parsed_agent is not None
    assert agent_compatibility(parsed_gitlab, parsed_agent) is verdict


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        (
            "registry.gitlab.com/gitlab-org/cluster-integration/gitlab-agent/agentk:v17.11.0",
            "v17.11.0",
        ),
        ("localhost:5000/agentk:v1.2.3@sha256:abc", "v1.2.3"),
        ("localhost:5000/agentk", None),
        ("agentk@sha256:abc", None),
    ],
)
def test_image_tag(image: str, tag: str | None) -> None:
    assert image_tag(image) == tag


def test_report_exits_with_the_first_failure_and_warnings_do_not_fail() -> None:
    report = Report()
    report.add(passed("gitlab", "GitLab", "ok"))
    report.add(warned("token", "Token", "expires soon", "renew"))
    assert report.ok and report.exit_code is ExitCode.OK
    report.add(failed("kas", "KAS", "disabled", "enable it", ExitCode.PREFLIGHT))
    report.add(skipped("topology", "Flux topology", "needs KAS"))
    report.add(failed("cluster", "Cluster", "unreachable", "check", ExitCode.CLUSTER))
    assert not report.ok
    assert report.exit_code is ExitCode.PREFLIGHT
    document = report.as_json()
    assert document["exit_code"] == 3
    assert document["counts"] == {"pass": 1, "fail": 2, "warn": 1, "skip": 1}
    assert [c["status"] for c in document["checks"]] == ["pass", "warn", "fail", "skip", "fail"]
    assert document["checks"][1]["exit_code"] == 0  # a warning never carries a code
    assert Outcome.FAIL.mark == "✖" and Outcome.PASS.mark == "✔" and Outcome.WARN.mark == "⚠"


def test_times() -> None:
    moment = parse_gitlab_time("2025-05-01T11:59:48.123Z")
    assert moment is not None and moment.tzinfo is not None
    assert ago(moment, NOW) == "11s ago"
    assert ago(NOW - timedelta(minutes=5, seconds=3), NOW) == "5m ago"
    assert ago(NOW - timedelta(days=2, hours=1), NOW) == "2d ago"
    assert ago(None, NOW) == "never"
    assert parse_gitlab_time(None) is None and parse_gitlab_time("garbage") is None


def test_token_expiry() -> None:
    today = NOW.date()
    assert _expiry(None, today) == ("no expiry", False)
    assert _expiry("2025-05-05", today) == ("expires 2025-05-05 (in 4 days)", True)
    assert _expiry("2025-07-01", today)[1] is False


def _state(**changes: Any) -> AgentState:
    state = AgentState(
        name="a",
        project="demo/fleet",
        agent={"id": 7, "name": "a"},
        tokens=[
            TokenInfo(3, "t3", None, NOW - timedelta(seconds=30)),
            TokenInfo(4, "t4", None, None),
        ],
        secret=SecretInfo("ns", "gitlab-agent-token", True, True, 3, True),
        release=ReleaseInfo("flux-system", "a", True, Phase.READY, "Succeeded", "ok"),
    )
    for key, value in changes.items():
        setattr(state, key, value)
    return state


def test_agent_health_and_status_exit_codes() -> None:
    healthy = _state()
    assert healthy.healthy(NOW) and status_exit_code(healthy, NOW) is ExitCode.OK
    assert healthy.last_contact is not None and healthy.last_contact.id == 3
    stale = NOW + timedelta(minutes=9)
    assert not healthy.connected(stale) and status_exit_code(healthy, stale) is ExitCode.FLUX
    revoked = _state(secret=SecretInfo("ns", "gitlab-agent-token", True, True, 9, True))
    assert not revoked.secret_token_active and status_exit_code(revoked, NOW) is ExitCode.FLUX
    failing = _state(release=ReleaseInfo("flux-system", "a", True, Phase.FAILED, "X", "y"))
    assert status_exit_code(failing, NOW) is ExitCode.FLUX
    unknown = _state(agent=None, tokens=[])
    assert status_exit_code(unknown, NOW) is ExitCode.GITLAB
    document = status_document(healthy, NOW)
    assert document["healthy"] is True and document["exit_code"] == 0
    assert document["secret"]["token_id"] == 3 and document["secret"]["token_active"] is True
    assert document["tokens"][1]["last_used_at"] is None
    assert document["last_contact"] == "2025-05-01T11:59:30Z"


def test_secret_info_reads_metadata_and_never_keeps_the_token() -> None:
    secret = {
        "metadata": {
            "annotations": {"gitlab.com/agent-token-id": "12", "kasboot/agent": "demo/fleet/a"},
            "labels": {"app.kubernetes.io/managed-by": "kasboot"},
        },
        "data": {"token": base64.b64encode(b"glagent-secret").decode()},
    }
    info = secret_info("ns", "s", secret)
    assert (info.present, info.has_token_key, info.token_id, info.managed_by_kasboot) == (
        True,
        True,
        12,
        True,
    )
    assert info.managed_for == "demo/fleet/a"
    assert "glagent-secret" not in repr(info)
    empty = secret_info("ns", "s", {"metadata": {}, "data": {}})
    assert (empty.has_token_key, empty.token_id) == (False, None)
    assert secret_info("ns", "s", None).present is False


def _release(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": name}, "spec": spec}


def test_release_collisions() -> None:
    settings = build_settings(
        agent="a", helm_release_name="a", helm_release_target_namespace="agents"
    )
    ctx = cast(DoctorContext, SimpleNamespace(settings=settings))
    releases = [
        _release("flux-system", "a", releaseName="a", targetNamespace="agents"),  # ours
        _release("apps", "a", releaseName="a", targetNamespace="agents"),
        _release("flux-system", "b", releaseName="b", targetNamespace="agents"),
        _release(
            "flux-system",
            "c",
            releaseName="c",
            targetNamespace="agents",
            values={"config": {"secretName": "c-token"}},
        ),
        _release("flux-system", "d", releaseName="d", targetNamespace="elsewhere"),
    ]
    found = release_collisions(ctx, releases)
    assert found == [
        "HelmRelease apps/a installs the same Helm release agents/a",
    ]
    releases[2]["spec"]["values"] = {"config": {"secretName": "gitlab-agent-token"}}
    assert "HelmRelease flux-system/b reads the same Secret agents/gitlab-agent-token" in (
        release_collisions(ctx, releases)
    )


def test_find_agentk_prefers_the_release() -> None:
    def deployment(name: str, instance: str, image: str) -> dict[str, Any]:
        return {
            "metadata": {"name": name, "labels": {"app.kubernetes.io/instance": instance}},
            "spec": {"template": {"spec": {"containers": [{"image": image}]}}},
        }

    found = find_agentk(
        [
            deployment("web", "web", "nginx:1.27"),
            deployment("other", "other", "registry.example/agentk:v17.10.0"),
            deployment("mine", "mine", "registry.example/agentk:v17.11.0"),
        ],
        "mine",
    )
    assert found == ("mine", "registry.example/agentk:v17.11.0")
    assert find_agentk([deployment("web", "web", "nginx:1.27")], "mine") is None


def test_text_report_marks_fixes_and_tail() -> None:
    import io

    from rich.console import Console

    from kasboot.doctor.render import print_report, print_status

    report = Report(project="demo/fleet", agent="a")
    report.add(passed("gitlab", "GitLab", "answers, GitLab 17.11.0"))
    report.add(warned("token", "Token", "expires soon [soon]", "renew it"))
    report.add(failed("kas", "KAS", "disabled", "enable KAS", ExitCode.PREFLIGHT))
    stream = io.StringIO()
    print_report(Console(file=stream, no_color=True, width=200), report)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "kasboot doctor: demo/fleet, agent a"
    assert lines[1].startswith("✔ GitLab ")
    assert lines[2].startswith("⚠ Token ") and lines[2].endswith("expires soon [soon]")
    assert lines[3].strip() == "fix: renew it"
    assert lines[4].startswith("✖ KAS ") and lines[5].strip() == "fix: enable KAS"
    assert lines[-1] == ("1 passed, 1 failed, 1 warning(s), 0 skipped: exit 3 (first failure: KAS)")
    stream = io.StringIO()
    print_status(Console(file=stream, no_color=True, width=200), _state(), NOW)
    rows = {row.split()[0]: row for row in stream.getvalue().splitlines()}
    assert rows["secret"].endswith("ns/gitlab-agent-token holds token 3 (active)")
    assert rows["health"].split()[1] == "healthy"
