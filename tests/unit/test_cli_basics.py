import subprocess
import sys

from kasboot.errors import ExitCode, UsageError


def test_version_runs_as_module() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "kasboot", "--version"], capture_output=True, text=True
    )
    assert completed.returncode == 0
    assert "kasboot" in completed.stdout


def test_usage_error_carries_exit_code_and_hint() -> None:
    error = UsageError("bad agent name 'A'", hint="use lowercase letters")
    assert error.exit_code == ExitCode.USAGE == 2
    assert error.one_line() == "bad agent name 'A' — use lowercase letters"


def test_usage_error_with_json_output_is_one_json_document() -> None:
    import json

    completed = subprocess.run(
        [sys.executable, "-m", "kasboot", "bootstrap", "Bad_Name", "--output", "json"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == ExitCode.USAGE
    document = json.loads(completed.stdout)
    assert document["ok"] is False
    assert document["error"]["exit_code"] == 2
    assert "Bad_Name" in document["error"]["message"]
