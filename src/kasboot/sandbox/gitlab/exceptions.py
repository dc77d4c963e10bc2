"""Errors that render exactly as GitLab's API renders them.

GitLab answers errors in a few fixed shapes: ``{"message": "404 Project Not Found"}``
(``not_found!``), ``{"message": "400 Bad request - …"}`` (``bad_request!``), a bare
``{"message": "<text>"}`` (``render_api_error!``), a map of field → messages for model
validation failures, and the OAuth-style body for a token lacking a scope."""

from __future__ import annotations

from typing import Any

INSUFFICIENT_SCOPE_DESCRIPTION = (
    "The request requires higher privileges than provided by the access token."
)


class GitLabApiError(Exception):
    """An HTTP error answer: status, JSON body and extra headers."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def not_found(what: str | None = None) -> GitLabApiError:
    """``not_found!('Project')`` → ``404 Project Not Found``; bare → ``404 Not found``."""
    message = f"404 {what} Not Found" if what else "404 Not found"
    return GitLabApiError(404, {"message": message})


def unauthorized() -> GitLabApiError:
    return GitLabApiError(401, {"message": "401 Unauthorized"})


def forbidden(reason: str | None = None) -> GitLabApiError:
    message = f"403 Forbidden - {reason}" if reason else "403 Forbidden"
    return GitLabApiError(403, {"message": message})


def insufficient_scope(scopes: list[str]) -> GitLabApiError:
    return GitLabApiError(
        403,
        {
            "error": "insufficient_scope",
            "error_description": INSUFFICIENT_SCOPE_DESCRIPTION,
            "scope": " ".join(scopes),
        },
        {
            "WWW-Authenticate": 'Bearer realm="Protected by OAuth 2", error="insufficient_scope", '
            f'error_description="{INSUFFICIENT_SCOPE_DESCRIPTION}", scope="{" ".join(scopes)}"'
        },
    )


def bad_request(reason: str | None = None) -> GitLabApiError:
    """``bad_request!(reason)`` → ``400 Bad request - <reason>``."""
    message = f"400 Bad request - {reason}" if reason else "400 Bad request"
    return GitLabApiError(400, {"message": message})


def api_error(message: str, status: int = 400) -> GitLabApiError:
    """``render_api_error!(message, status)``: the message as is."""
    return GitLabApiError(status, {"message": message})


def validation_error(errors: dict[str, list[str]]) -> GitLabApiError:
    """``render_validation_error!(model)``: ``{"message": {field: [messages]}}``."""
    return GitLabApiError(400, {"message": errors})


def missing_param(name: str) -> GitLabApiError:
    """Grape's own answer for a missing required parameter."""
    return GitLabApiError(400, {"error": f"{name} is missing"})


def invalid_param(name: str, reason: str = "is invalid") -> GitLabApiError:
    return GitLabApiError(400, {"error": f"{name} {reason}"})


def status_line_body(status: int, reason: str) -> dict[str, str]:
    """Body for an error injected by the sandbox middleware (``500 Internal Server Error``)."""
    return {"message": f"{status} {reason}"}
