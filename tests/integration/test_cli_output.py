"""Output people and scripts can use, through the real entry point (issue 19 items 8-10,
13): the plan on stdout and progress on stderr, a one-line verdict, `--detailed-exitcode`,
exactly one JSON document for every reporting command (usage errors included) valid
against the schema shipped in the package, per-command options, grouped help, -v
showing the cluster's requests, and advice that points somewhere."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

from kasboot.option_specs import GROUPS
from kasboot.ui.jsonout import SCHEMA_PATH
from tests.integration.bootstrap_helpers import agent_args, run_kasboot

pytestmark = pytest.mark.sandbox
ANSI = re.compile(r"\x1b\[[0-9;]*m")
PLANNED = "out-plan"  # never bootstrapped: plans changes
DONE = "out-done"  # bootstrapped once, for the commands that read an agent
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    document = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    return dict(document)


@pytest.fixture(scope="module")
def bootstrapped(sandbox: Any) -> str:
    result = run_kasboot(sandbox, *agent_args(DONE), "--yes")
    assert result.code == 0, result.stderr
    return DONE


def one_document(stdout: str, schema: dict[str, Any]) -> dict[str, Any]:
    """stdout is exactly one JSON document, and the schema accepts it."""
    document = json.loads(stdout)  # raises on a second document or stray text
    jsonschema.validate(document, schema)
    assert TIMESTAMP.match(document["generated_at"])
    return dict(document)


def flags(name: str) -> list[str]:
    return agent_args(name)[1:]


# -- item 8: plan ----------------------------------------------------------------------


def test_the_plan_goes_to_stdout_and_progress_to_stderr(sandbox: Any) -> None:
    result = run_kasboot(sandbox, "plan", *flags(PLANNED))
    assert result.code == 0, result.stderr
    out, err = result.stdout, result.stderr
    assert "+++ b/clusters/sandbox/out-plan/gitlab-agent-helm-release.yaml" in out  # the diff
    assert "Pre-flight checks" in err and "Pre-flight checks" not in out  # progress
    assert "+++ b/" not in err
    assert not ANSI.search(out)  # not a terminal: no colour
    last = out.strip().splitlines()[-1]
    assert last.startswith("Plan: ") and "change(s)" in last and "pending" in last
    # the summary describes the planned state, never an applied one or a None
    assert "Planned (nothing written yet):" in out
    assert "out-plan (registered on apply)" in out and "minted on apply" in out
    assert "None" not in out and "None" not in err
    assert "nothing to commit" not in out + err and "3 file(s) in one commit" in out


def test_detailed_exitcode_is_10_with_changes_and_0_without(
    sandbox: Any, bootstrapped: str
) -> None:
    pending = run_kasboot(sandbox, "plan", *flags(PLANNED), "--detailed-exitcode")
    assert pending.code == 10, pending.stderr
    clean = run_kasboot(sandbox, "plan", *flags(bootstrapped), "--detailed-exitcode")
    assert clean.code == 0, clean.stderr
    assert clean.stdout.strip().splitlines()[-1] == (
        f"No changes: agent {bootstrapped} is bootstrapped as asked."
    )
    as_json = run_kasboot(sandbox, "plan", *flags(PLANNED), "--detailed-exitcode", "-o", "json")
    assert as_json.code == 10
    document = json.loads(as_json.stdout)
    assert document["ok"] is True and document["exit_code"] == 10
    assert document["pending_changes"] > 0


# -- item 9: one JSON document, one envelope, one schema --------------------------------


def test_every_reporting_command_prints_one_valid_document(
    sandbox: Any, bootstrapped: str, schema: dict[str, Any]
) -> None:
    commands = {
        "bootstrap": ["bootstrap", *flags(bootstrapped)],
        "plan": ["plan", *flags(PLANNED)],
        "render": ["render", *flags(PLANNED)],
        "doctor": ["doctor", *flags(bootstrapped)],
        "status": ["status", *flags(bootstrapped)],
        "token list": ["token", "list", *flags(bootstrapped)],
        "token rotate": ["token", "rotate", *flags(bootstrapped), "--dry-run"],
        "token revoke": ["token", "revoke", *flags(bootstrapped), "999999", "--dry-run"],
        "uninstall": ["uninstall", *flags(bootstrapped), "--dry-run"],
    }
    keys = None
    for command, args in commands.items():
        result = run_kasboot(sandbox, *args, "-o", "json")
        document = one_document(result.stdout, schema)
        assert document["command"] == command
        assert document["exit_code"] == result.code, (command, result.stderr)
        common = list(document)[:8]
        assert keys is None or common == keys
        keys = common
    assert keys == [
        "command", "ok", "exit_code", "error", "project", "agent", "kasboot_version",
        "generated_at",
    ]  # fmt: skip


def test_times_have_one_format(sandbox: Any, bootstrapped: str, schema: dict[str, Any]) -> None:
    listed = one_document(
        run_kasboot(sandbox, "token", "list", *flags(bootstrapped), "-o", "json").stdout, schema
    )
    assert listed["tokens"] and all(TIMESTAMP.match(t["created_at"]) for t in listed["tokens"])
    status = one_document(
        run_kasboot(sandbox, "status", *flags(bootstrapped), "-o", "json").stdout, schema
    )
    assert all(TIMESTAMP.match(t["created_at"]) for t in status["tokens"])


@pytest.mark.parametrize(
    ("args", "env", "command"),
    [(["status", "x", "--bogus"], {}, "status"),  # unknown option (click)
     (["plan"], {}, "plan"),  # missing argument (click)
     (["token", "rotate"], {}, "token rotate"),
     (["bootstrap"], {"CI": "true"}, "bootstrap"),  # no AGENT in CI
     (["doctor", "--output=json", "--timeout", "soon"], {}, "doctor"),  # bad value
     (["render", "x"], {"KASBOOT_OUTPUT": "json", "KASBOOT_HELM_RELEASE_NAME": "Bad_Name"},
      "render")],
)  # fmt: skip
def test_errors_before_the_command_reports_are_one_document_too(
    sandbox: Any, schema: dict[str, Any], args: list[str], env: dict[str, str], command: str
) -> None:
    given = any(a.startswith("--output") for a in args) or "KASBOOT_OUTPUT" in env
    extra = [] if given else ["-o", "json"]
    result = run_kasboot(sandbox, *args, *extra, env=env)
    assert result.code == 2, result.stderr
    document = one_document(result.stdout, schema)
    assert document["command"] == command and document["ok"] is False
    assert document["exit_code"] == 2 and document["error"]["message"]


def test_render_prints_json_when_asked(sandbox: Any, schema: dict[str, Any]) -> None:
    result = run_kasboot(sandbox, "render", *flags(PLANNED), "-o", "json")
    assert result.code == 0, result.stderr
    document = one_document(result.stdout, schema)
    files = document["files"]
    assert set(files) == {
        "clusters/sandbox/out-plan/gitlab-helm-repository.yaml",
        "clusters/sandbox/out-plan/gitlab-agent-helm-release.yaml",
    }
    assert "kind: HelmRelease" in files["clusters/sandbox/out-plan/gitlab-agent-helm-release.yaml"]


# -- item 10: options and help ----------------------------------------------------------


@pytest.mark.parametrize("option", ["--rotate-token", "--fix=sourceignore", "--dry-run"])
def test_status_refuses_options_it_does_not_use(sandbox: Any, option: str) -> None:
    result = run_kasboot(sandbox, "status", "alpha", option)
    assert result.code == 2
    assert "No such option" in result.stderr


def test_help_is_grouped_with_examples_and_choices(sandbox: Any) -> None:
    bootstrap = run_kasboot(sandbox, "bootstrap", "--help").stdout
    sections = [line for line in bootstrap.splitlines() if line.endswith("options:")]
    assert sections == [f"{title} options:" for title, _ in GROUPS]  # every section, in order
    assert {
        "GitLab options:", "Flux and Helm options:", "Environments options:",
        "Commit options:", "Cluster options:", "Run and output options:",
    } <= set(sections)  # fmt: skip
    assert "Examples:" in bootstrap and "kasboot bootstrap prod --fix sourceignore" in bootstrap
    assert "--flux-source-type [git|oci|helm]" in bootstrap
    assert "--commit-via [api|local]" in bootstrap and "-o, --output [text|json]" in bootstrap
    assert re.search(r"default:\s+--reconcile;", bootstrap)  # a boolean reads as its spelling
    status = run_kasboot(sandbox, "status", "--help").stdout
    assert "--rotate-token" not in status and "--fix" not in status
    assert "Examples:" in status and "Agent token options:" not in status


def test_verbose_shows_the_cluster_requests(sandbox: Any, bootstrapped: str) -> None:
    result = run_kasboot(sandbox, "status", *flags(bootstrapped), "-v")
    assert result.code == 0, result.stderr
    kube = [line for line in result.stderr.splitlines() if " kube GET " in f" {line.strip()} "]
    assert any("/api/v1/namespaces/out-done/secrets/gitlab-agent-token" in line for line in kube)
    assert sandbox.token not in result.stderr + result.stdout


# -- item 13: advice --------------------------------------------------------------------


def test_status_of_a_broken_agent_points_to_doctor(sandbox: Any) -> None:
    result = run_kasboot(sandbox, "status", *flags("out-ghost"))
    assert result.code == 4
    assert "`kasboot doctor out-ghost`" in result.stdout
    document = json.loads(run_kasboot(sandbox, "status", *flags("out-ghost"), "-o", "json").stdout)
    assert document["next_step"] == "kasboot doctor out-ghost"


def test_a_name_clash_suggests_this_agents_own_names(sandbox: Any, bootstrapped: str) -> None:
    clash = [
        "plan", "out-clash", "--manifest-path", "clusters/sandbox/out-clash",
        "--helm-release-target-namespace", "out-clash", "--helm-release-name", "out-clash",
        "--helm-repository-name", f"gitlab-{bootstrapped}",
    ]  # fmt: skip
    result = run_kasboot(sandbox, *clash)
    assert result.code == 3, result.stderr
    assert "already registered id: HelmRepository" in result.stderr
    assert "`--helm-repository-name gitlab-out-clash`" in result.stderr
    assert "leave its files as they are" in result.stderr
    assert f"remove clusters/sandbox/{bootstrapped}" not in result.stderr


def _plan_on_a_terminal(sandbox: Any, **env: str) -> str:
    import os
    import sys

    import pexpect

    environ = {**os.environ, **sandbox.env, "TERM": "xterm", **env}
    for name in ("CI", "NO_COLOR"):
        if name not in env:
            environ.pop(name, None)
    child = pexpect.spawn(
        sys.executable, ["-m", "kasboot", "plan", *flags(PLANNED)], env=environ,
        cwd=str(sandbox.dir), dimensions=(60, 200), encoding="utf-8", timeout=90,
    )  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    return str(child.before)


def test_diffs_are_coloured_on_a_terminal_only(sandbox: Any) -> None:
    coloured = _plan_on_a_terminal(sandbox)
    added = next(line for line in coloured.splitlines() if "+kind: HelmRelease" in line)
    assert "\x1b[32m" in added  # green
    plain = _plan_on_a_terminal(sandbox, NO_COLOR="1")
    assert "+kind: HelmRelease" in plain and not re.search(r"\x1b\[[0-9;]*3[0-7]m", plain)
