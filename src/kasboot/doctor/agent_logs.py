"""Why agentk does not connect, from its own log: the last lines of the agentk pods
(what `kubectl logs deploy/…` shows) through the diagnosis rules for agent log lines
(flux/diagnose.py: an untrusted or mismatched KAS certificate, a rejected token, a proxy,
an unreachable or wrong KAS address). Only read when GitLab says the agent is not
connected: a healthy agent costs no request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kasboot.doctor.agent_state import AgentState
from kasboot.errors import KasbootError
from kasboot.flux.diagnose import Diagnosis, diagnose

if TYPE_CHECKING:
    from kasboot.cluster import Cluster

# The chart names its one container after itself (templates/deployment.yaml:
# ``name: {{ .Chart.Name }}``), whatever nameOverride says.
AGENTK_CONTAINER = "gitlab-agent"
TAIL_LINES = 200


@dataclass(frozen=True)
class LogFinding:
    diagnosis: Diagnosis | None
    read_from: str  # which pods were read, or why none could be


def read_agentk_logs(cluster: Cluster, state: AgentState) -> LogFinding | None:
    """None when there is no HelmRelease to find agentk by."""
    release = state.release
    if release is None or release.agentk_pods is None:
        return None
    namespace, selector = release.agentk_pods
    try:
        logs = cluster.deployment_logs(namespace, selector, AGENTK_CONTAINER, TAIL_LINES)
    except KasbootError as error:
        return LogFinding(None, f"agentk's log could not be read: {error.message}")
    if not logs:
        return LogFinding(None, f"no agentk pod runs in namespace {namespace}")
    lines = [line for log in logs for line in log.lines]
    found = diagnose("agentk", {"logs": list(reversed(lines))})  # the latest line first
    if found is not None:
        return LogFinding(found, f"log of pod {namespace}/{logs[0].pod}")
    waiting = [log.unavailable for log in logs if log.unavailable]
    if waiting and not lines:
        return LogFinding(None, f"agentk's log: {waiting[0]}")
    return LogFinding(None, f"log of pod {namespace}/{logs[0].pod} names no known cause")
