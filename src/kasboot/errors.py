"""The error tree. Each error a user can cause carries its exit code (a contract:
scripts rely on it), one line saying what went wrong and why, and a hint saying how
to fix it. The CLI prints them without a traceback unless --debug is given."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    PREFLIGHT = 3
    GITLAB = 4
    CLUSTER = 5
    FLUX = 6
    CHANGES_PENDING = 10  # `plan --detailed-exitcode`: the plan is not empty (not an error)
    INTERRUPTED = 130  # SIGINT (Ctrl-C)
    TERMINATED = 143  # SIGTERM (128 + 15, as shells report it): a cancelled CI job


class KasbootError(Exception):
    """Base of every error kasboot expects; never raised directly."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class UsageError(KasbootError):
    """Bad flags, names, paths or files: nothing was written."""

    exit_code = ExitCode.USAGE


class PreflightError(KasbootError):
    """A pre-flight check refused to go on: nothing was written."""

    exit_code = ExitCode.PREFLIGHT


class GitLabError(KasbootError):
    """GitLab answered with an error (401/403/404/400…)."""

    exit_code = ExitCode.GITLAB

    def __init__(self, message: str, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


class ClusterError(KasbootError):
    """The Kubernetes API said no or could not be reached."""

    exit_code = ExitCode.CLUSTER

    def __init__(self, message: str, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


class FluxError(KasbootError):
    """Changes were written but Flux did not become Ready (diagnosis attached)."""

    exit_code = ExitCode.FLUX


def printed_line(error: KasbootError) -> str:
    """The one line the CLI prints: the message and how to fix it. An error raised
    without a hint gets its kind's general advice, so that no line leaves the user
    without a next step."""
    if error.hint:
        return error.one_line()
    return f"{error.message} — {_general_hint(error)}"


def _general_hint(error: KasbootError) -> str:
    if isinstance(error, GitLabError):
        if error.status == 404:
            return (
                "GitLab answers 404 for what does not exist and for what the token's user "
                "may not see: check -R (or KASBOOT_REPO), the branch and GITLAB_HOST"
            )
        return "see GitLab's message; `kasboot --debug …` shows each request"
    if isinstance(error, ClusterError):
        return (
            "check the kubeconfig context and your access (`kubectl auth can-i --list`); "
            "`kasboot --debug …` shows the trace"
        )
    if isinstance(error, FluxError):
        return "see `kasboot status AGENT` and `flux get all -A`"
    return "see `kasboot COMMAND --help`"
