"""Hostile input (issue 17 item 4): every case ends with ONE error line that names the
problem and the fix, the documented exit code, no traceback, and nothing written —
proved by the emulators' request logs (GET /-/sandbox/requests), which must hold no
write from kasboot (or git on its behalf) after the run. Usage errors (exit 2) found
in the options must also come before any request at all.

The table below is also the source of docs/reliability.md's bad-input table.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.integration.bootstrap_helpers import agent_args
from tests.reliability.helpers import run_watched

pytestmark = pytest.mark.sandbox

AGENT_TOKEN = "glagent-" + "Qz7_" * 12 + "xy"
# What every case passes unless it overrides it (click keeps the last of a flag given
# twice): the agent's own manifest directory, namespaces and release name.
BASE_FLAGS = tuple(agent_args("hostile")[2:])
KUBECONFIG_UNREACHABLE = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


@dataclass(frozen=True)
class Case:
    id: str
    what: str  # the input, as the doc's table shows it
    args: tuple[str, ...] = ()  # after BASE_FLAGS; "{tmp}" is the case's directory
    code: int = 2
    needle: str = ""  # a part of the error line
    agent: str = "hostile"
    env: dict[str, str] = field(default_factory=dict)  # "{tmp}", "{gitlab}", "{port}", "{token:…}"
    unset: tuple[str, ...] = ()
    files: dict[str, str | bytes] = field(default_factory=dict)  # written under {tmp}
    in_tmp: bool = False  # run in {tmp} (where a .kasboot.yaml is found)
    reads: bool = False  # requests (reads only) may come before the refusal


CASES: tuple[Case, ...] = (
    # -- agent names -------------------------------------------------------------
    Case("agent-uppercase", "AGENT `MyAgent`", agent="MyAgent", needle="invalid agent name"),
    Case("agent-64-chars", "AGENT of 64 characters", agent="a" * 64, needle="invalid agent name"),
    Case("agent-leading-dash", "AGENT `-agent` (after `--`)", agent="-agent",
         needle="invalid agent name"),
    Case("agent-dots", "AGENT `my.agent`", agent="my.agent", needle="invalid agent name"),
    Case("agent-unicode", "AGENT `agént`", agent="agént", needle="invalid agent name"),
    Case("agent-empty", "AGENT `\"\"`", agent="", needle="invalid agent name"),
    Case("agent-escape", "AGENT with an ESC sequence", agent="a\x1b[2Jb",
         needle="control character '\\x1b'"),
    # -- manifest paths ------------------------------------------------------------
    Case("path-absolute", "--manifest-path `/etc/flux`", ("-p", "/etc/flux"),
         needle="is absolute"),
    Case("path-escape", "--manifest-path `clusters/../../x`", ("-p", "clusters/../../x"),
         needle="leaves the repository"),
    Case("path-gitlab-agents", "--manifest-path `.gitlab/agents/x`",
         ("-p", ".gitlab/agents/x"), needle="lies in .gitlab/agents/"),
    Case("path-dot-git", "--manifest-path `clusters/.GIT/x`", ("-p", "clusters/.GIT/x"),
         needle="which git reads as .git"),
    Case("path-ntfs-dot-git", "--manifest-path `git~1/x`", ("-p", "git~1/x"),
         needle="which git reads as .git"),
    Case("path-backslash", "--manifest-path `clusters\\prod`", ("-p", "clusters\\prod"),
         needle="contains a backslash"),
    Case("path-4kb", "--manifest-path of 4,100 bytes", ("-p", "ab/" * 1366 + "cd"),
         needle="bytes long"),
    Case("path-300-component", "--manifest-path with a 300-byte component",
         ("-p", "clusters/" + "x" * 300), needle="300-byte component"),
    Case("path-newline", "--manifest-path with a newline", ("-p", "clusters/a\nb"),
         needle="control character '\\n'"),
    Case("path-nul-config", "`manifest-path: \"a\\0b\"` in .kasboot.yaml",
         files={".kasboot.yaml": 'manifest-path: "clusters/a\\0b"\n'}, in_tmp=True,
         needle="control character '\\x00'"),
    Case("file-trailing-slash", "--helm-release-filepath `agent.yaml/`",
         ("--helm-release-filepath", "agent.yaml/"), needle="names a directory"),
    Case("file-not-yaml", "--helm-release-filepath `agent.json`",
         ("--helm-release-filepath", "agent.json"), needle="does not end in .yaml"),
    Case("files-same", "both file paths `x.yaml`",
         ("--helm-release-filepath", "x.yaml", "--helm-repository-filepath", "x.yaml"),
         needle="would both be written"),
    # -- names and namespaces --------------------------------------------------------
    Case("ns-underscore", "--helm-release-target-namespace `Bad_NS`",
         ("--helm-release-target-namespace", "Bad_NS"), needle="invalid target namespace"),
    Case("ns-dot", "--helm-release-target-namespace `a.b`",
         ("--helm-release-target-namespace", "a.b"), needle="invalid target namespace"),
    Case("ns-64", "--helm-release-namespace of 64 characters",
         ("--helm-release-namespace", "n" * 64), needle="invalid HelmRelease namespace"),
    Case("ns-empty", "--helm-release-target-namespace `\"\"`",
         ("--helm-release-target-namespace", ""), needle="is empty"),
    Case("secret-uppercase", "--gitlab-agent-token-secret-name `Token`",
         ("--gitlab-agent-token-secret-name", "Token"), needle="invalid Secret name"),
    Case("secret-empty", "--gitlab-agent-token-secret-name `\"\"`",
         ("--gitlab-agent-token-secret-name", ""), needle="is empty"),
    Case("secret-254", "--gitlab-agent-token-secret-name of 254 characters",
         ("--gitlab-agent-token-secret-name", "s" * 254), needle="invalid Secret name"),
    Case("release-54", "--helm-release-name of 54 characters (Helm's limit is 53)",
         ("--helm-release-name", "r" * 54), needle="invalid HelmRelease name"),
    Case("repo-empty", "-R `\"\"`", ("-R", ""), needle="--repo is empty"),
    Case("env-name-token", "--environment-name holding a token",
         ("--environment-name", AGENT_TOKEN), needle="looks like a GitLab token"),
    # -- values files -------------------------------------------------------------
    Case("values-missing", "--helm-release-values of a missing file",
         ("--helm-release-values", "{tmp}/missing.yaml"), needle="does not exist"),
    Case("values-directory", "--helm-release-values of a directory",
         ("--helm-release-values", "{tmp}"), needle="is a directory"),
    Case("values-not-yaml", "--helm-release-values not YAML",
         ("--helm-release-values", "{tmp}/v.yaml"), files={"v.yaml": "a: [\n"},
         needle="is not valid YAML"),
    Case("values-list", "--helm-release-values holding a YAML list",
         ("--helm-release-values", "{tmp}/v.yaml"), files={"v.yaml": "- a\n- b\n"},
         needle="is not a YAML map"),
    Case("values-10mb", "--helm-release-values of 10 MB",
         ("--helm-release-values", "{tmp}/v.yaml"),
         files={"v.yaml": "a: " + "x" * 10_000_000 + "\n"}, needle="10,000,004 bytes"),
    Case("values-binary", "--helm-release-values not UTF-8",
         ("--helm-release-values", "{tmp}/v.yaml"), files={"v.yaml": b"a: \xff\xfe\n"},
         needle="is not UTF-8 text"),
    Case("values-config-token", "`config.token: glagent-…` in a values file",
         ("--helm-release-values", "{tmp}/v.yaml"),
         files={"v.yaml": f"config:\n  token: {AGENT_TOKEN}\n"}, needle="sets config.token"),
    Case("values-token-anywhere", "a `glpat-…` value deep in a values file",
         ("--helm-release-values", "{tmp}/v.yaml"),
         files={"v.yaml": "extraEnv:\n- name: T\n  value: glpat-abcdefghijklmnopqrst\n"},
         needle="extraEnv[0].value"),
    # -- values-from ----------------------------------------------------------------
    Case("values-from-kind", "--helm-release-values-from `Foo/x`",
         ("--helm-release-values-from", "Foo/x"), needle="use Secret/<name> or ConfigMap"),
    Case("values-from-no-name", "--helm-release-values-from `Secret/`",
         ("--helm-release-values-from", "Secret/"), needle="use Secret/<name> or ConfigMap"),
    Case("values-from-missing", "--helm-release-values-from `ConfigMap/nope` (not in the "
         "cluster)", ("--helm-release-values-from", "ConfigMap/nope"), code=3,
         needle="does not exist", reads=True),
    # -- GitLab host and tokens --------------------------------------------------------
    Case("host-bad-scheme", "GITLAB_HOST `ftp://gitlab.example.com`",
         env={"GITLAB_HOST": "ftp://gitlab.example.com"}, needle="invalid GitLab host"),
    Case("host-not-gitlab", "GITLAB_HOST answering 404 (a path that is not GitLab)",
         env={"GITLAB_HOST": "{gitlab}/not/gitlab"}, code=4, needle="404", reads=True),
    Case("host-unreachable", "GITLAB_HOST `http://127.0.0.1:9` (nothing listens)",
         env={"GITLAB_HOST": "http://127.0.0.1:9"}, code=4, needle="cannot reach GitLab",
         reads=True),
    Case("host-no-scheme", "GITLAB_HOST without scheme (https assumed; the server is http)",
         env={"GITLAB_HOST": "127.0.0.1:{port}"}, code=4, needle="cannot reach GitLab",
         reads=True),
    Case("host-tls", "GITLAB_HOST `https://` to a plain-HTTP server (TLS fails)",
         env={"GITLAB_HOST": "https://127.0.0.1:{port}"}, code=4,
         needle="cannot reach GitLab", reads=True),
    Case("token-none", "no token anywhere (GITLAB_TOKEN unset, no glab config)",
         env={"HOME": "{tmp}"}, unset=("GITLAB_TOKEN", "XDG_CONFIG_HOME", "GLAB_CONFIG_DIR"),
         needle="no GitLab token found"),
    Case("token-empty", "GITLAB_TOKEN set but empty (no other token)",
         env={"HOME": "{tmp}", "GITLAB_TOKEN": ""}, unset=("XDG_CONFIG_HOME", "GLAB_CONFIG_DIR"),
         needle="no GitLab token found"),
    Case("token-ci-job", "only CI_JOB_TOKEN set",
         env={"HOME": "{tmp}", "CI_JOB_TOKEN": "job-token-value"},
         unset=("GITLAB_TOKEN", "XDG_CONFIG_HOME", "GLAB_CONFIG_DIR"),
         needle="a CI job token cannot call"),
    Case("token-wrong", "GITLAB_TOKEN unknown to GitLab",
         env={"GITLAB_TOKEN": "glpat-wrongwrongwrongwrong"}, code=4,
         needle="GitLab refused the token", reads=True),
    Case("token-expired", "GITLAB_TOKEN expired", env={"GITLAB_TOKEN": "{token:expired}"},
         code=4, needle="GitLab refused the token", reads=True),
    Case("token-read-api", "GITLAB_TOKEN with read_api only",
         env={"GITLAB_TOKEN": "{token:read_api}"}, code=3, needle="scopes are read_api",
         reads=True),
    # -- kubeconfig ----------------------------------------------------------------------
    Case("kube-missing-env", "KUBECONFIG naming a missing file",
         env={"KUBECONFIG": "{tmp}/nope"}, needle="does not exist"),
    Case("kube-missing-flag", "--kubeconfig naming a missing file",
         ("--kubeconfig", "{tmp}/nope"), needle="does not exist"),
    Case("kube-bad-yaml", "KUBECONFIG not YAML", env={"KUBECONFIG": "{tmp}/kc"},
         files={"kc": "clusters: [\n"}, needle="is not valid YAML"),
    Case("kube-unknown-context", "--context `prod` (not in the kubeconfig)",
         ("--context", "prod"), needle='context "prod" does not exist'),
    Case("kube-unreachable", "a kubeconfig whose server does not answer",
         env={"KUBECONFIG": "{tmp}/kc"}, files={"kc": KUBECONFIG_UNREACHABLE}, code=5,
         needle="cluster", reads=True),
    # -- flags together, project, branch ----------------------------------------------------
    Case("flags-author", "--use-api-commit-author with --commit-author-name",
         ("--use-api-commit-author", "--commit-author-name", "me"), needle="cannot be combined"),
    Case("flags-version", "--agent-version with --no-pin-version",
         ("--agent-version", "v17.0.0", "--no-pin-version"), needle="cannot be combined"),
    Case("flag-timeout", "--timeout `soon`", ("--timeout", "soon"), needle="invalid duration"),
    Case("flag-output", "--output `yaml`", ("--output", "yaml"), needle="invalid --output"),
    Case("flag-non-utf8", "an option that is not UTF-8 (byte 0xff)", ("-p", "clusters/\udcff"),
         needle="is not valid UTF-8"),
    Case("flag-fix", "--fix `everything`", ("--fix", "everything"), needle="invalid --fix"),
    Case("flag-commit-via", "--commit-via `ssh`", ("--commit-via", "ssh"),
         needle="invalid --commit-via"),
    Case("flag-source-type", "--flux-source-type `bucket`", ("--flux-source-type", "bucket"),
         needle="invalid --flux-source-type"),
    Case("flag-chart-url", "--helm-repository-address `ftp://charts`",
         ("--helm-repository-address", "ftp://charts"), needle="url scheme 'ftp'"),
    Case("flag-author-email", "--commit-author-email `me`", ("--commit-author-email", "me"),
         needle="invalid --commit-author-email"),
    Case("flag-resource-path", "--environment-flux-resource-path `helmreleases/x`",
         ("--environment-flux-resource-path", "helmreleases/x"),
         needle="invalid --environment-flux-resource-path"),
    Case("flag-ca-missing", "--kas-ca-cert of a missing file",
         ("--kas-ca-cert", "{tmp}/ca.pem"), needle="does not exist"),
    Case("flag-ca-not-pem", "--kas-ca-cert holding no certificate",
         ("--kas-ca-cert", "{tmp}/ca.pem"), files={"ca.pem": "hello\n"},
         needle="holds no PEM certificate"),
    Case("flag-config-missing", "--config of a missing file", ("--config", "{tmp}/nope.yaml"),
         needle="cannot read config file"),
    Case("branch-unknown", "--manifest-branch `nope` (not in the project)",
         ("--manifest-branch", "nope"), code=3, needle="does not exist", reads=True),
    Case("project-unknown", "-R `nobody/nothing`", ("-R", "nobody/nothing"), code=4,
         needle="404", reads=True),
    Case("local-outside-clone", "--commit-via local outside a clone",
         ("--commit-via", "local"), needle="is not inside a git clone", in_tmp=True,
         reads=True),
    # -- .kasboot.yaml -----------------------------------------------------------------------
    Case("config-unknown-key", "`.kasboot.yaml` with an unknown key",
         files={".kasboot.yaml": "manifest-pth: x\n"}, in_tmp=True, needle="unknown option"),
    Case("config-map-value", "`.kasboot.yaml` with a map as a value",
         files={".kasboot.yaml": "manifest-path: {a: 1}\n"}, in_tmp=True,
         needle="is a dict, not a value"),
    Case("config-list-value", "`.kasboot.yaml` with a list for a single option",
         files={".kasboot.yaml": "manifest-path: [a, b]\n"}, in_tmp=True,
         needle="takes a single value"),
    Case("config-bool-word", "`.kasboot.yaml` with `dry-run: maybe`",
         files={".kasboot.yaml": "dry-run: maybe\n"}, in_tmp=True, needle="invalid value"),
    Case("config-null", "`.kasboot.yaml` with a key and no value",
         files={".kasboot.yaml": "helm-release-target-namespace:\n"}, in_tmp=True,
         needle="has no value"),
    Case("config-not-yaml", "`.kasboot.yaml` not YAML", files={".kasboot.yaml": "a: [\n"},
         in_tmp=True, needle="is not valid YAML"),
)  # fmt: skip


def _make_token(sandbox: Any, scopes: list[str], expires_at: str | None) -> str:
    body: dict[str, Any] = {"username": "root", "name": "hostile", "scopes": scopes}
    if expires_at:
        body["expires_at"] = expires_at
    request = urllib.request.Request(
        f"{sandbox.gitlab_url}/-/sandbox/personal_access_tokens",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["token"])


@pytest.fixture(scope="module")
def tokens(sandbox: Any) -> dict[str, str]:
    return {
        "read_api": _make_token(sandbox, ["read_api"], None),
        "expired": _make_token(sandbox, ["api"], "2000-01-01"),
    }


def _fill(text: str, tmp: Path, sandbox: Any, tokens: dict[str, str]) -> str:
    text = text.replace("{tmp}", str(tmp)).replace("{gitlab}", sandbox.gitlab_url)
    text = text.replace("{port}", sandbox.gitlab_url.rsplit(":", 1)[1])
    for name, value in tokens.items():
        text = text.replace("{token:" + name + "}", value)
    return text


def run_case(case: Case, sandbox: Any, tmp: Path, tokens: dict[str, str]) -> Any:
    for name, content in case.files.items():
        path = tmp / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    args = [_fill(arg, tmp, sandbox, tokens) for arg in (*BASE_FLAGS, *case.args)]
    env = {name: _fill(value, tmp, sandbox, tokens) for name, value in case.env.items()}
    return run_watched(
        sandbox,
        "bootstrap",
        *args,
        "--",
        case.agent,
        env=env,
        unset=case.unset,
        cwd=tmp if case.in_tmp else None,
        timeout=120,
    )


def error_line(stderr: str) -> str:
    """The single error line; every other stderr line is the step list's."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1, stderr
    others = [line for line in lines if not line.startswith(("Error: ", "✔", "✖", "-", "•"))]
    assert others == [], stderr
    return errors[0]


def _params() -> list[Any]:
    return [pytest.param(case, id=case.id) for case in CASES]


def test_there_are_at_least_40_cases() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", _params())
def test_hostile_input(case: Case, sandbox: Any, tokens: dict[str, str], tmp_path: Path) -> None:
    watched = run_case(case, sandbox, tmp_path, tokens)
    result = watched.result
    assert result.code == case.code, result.stderr
    assert "Traceback" not in result.stderr
    line = error_line(result.stderr)
    assert case.needle in line, line
    _message, dash, hint = line.partition(" — ")
    assert dash and hint.strip(), f"no fix named: {line}"
    assert watched.writes == [], watched.writes
    if not case.reads:
        assert watched.requests == 0, f"{watched.requests} request(s) before refusing"
    everything = result.stdout + result.stderr
    assert sandbox.token not in everything
    assert AGENT_TOKEN not in everything and "glpat-abcdefghijklmnopqrst" not in everything
    assert not any(value in everything for value in tokens.values())


# The same gate stands before every command that writes: a few cases through
# `token rotate` and `uninstall` (which share bootstrap's options).
GATE_CASES = ("agent-uppercase", "path-300-component", "ns-empty", "values-config-token",
              "kube-unknown-context", "config-null")  # fmt: skip


@pytest.mark.parametrize("command", [("token", "rotate"), ("uninstall", "--yes")])
@pytest.mark.parametrize("case_id", GATE_CASES)
def test_other_writing_commands_refuse_the_same_input(
    command: tuple[str, ...], case_id: str, sandbox: Any, tokens: dict[str, str], tmp_path: Path
) -> None:
    case = next(c for c in CASES if c.id == case_id)
    for name, content in case.files.items():
        (tmp_path / name).write_text(str(content))
    args = [_fill(arg, tmp_path, sandbox, tokens) for arg in (*BASE_FLAGS, *case.args)]
    watched = run_watched(
        sandbox,
        *command,
        *args,
        "--",
        case.agent,
        cwd=tmp_path if case.in_tmp else None,
    )
    assert watched.result.code == case.code, watched.result.stderr
    if _not_an_option_of(command, case.args):
        # the command does not read it (e.g. values files): click refuses the flag itself
        assert "No such option" in watched.result.stderr
    else:
        assert case.needle in error_line(watched.result.stderr)
    assert watched.writes == [] and watched.requests == 0


def _not_an_option_of(command: tuple[str, ...], args: tuple[str, ...]) -> bool:
    from kasboot.option_specs import COMMAND_OPTIONS, SPECS

    taken = set(COMMAND_OPTIONS[" ".join(w for w in command if not w.startswith("-"))])
    flags = {flag: spec.name for spec in SPECS for flag in spec.flags}
    return any(flags.get(arg, "") not in taken for arg in args if arg in flags)
