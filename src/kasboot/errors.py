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
