"""What a handler sees of a request: merged parameters, path values, who is calling."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse, Response

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.backend import READ_SCOPES, WRITE_SCOPES, GitLabBackend, Principal
from kasboot.sandbox.gitlab.entities import Entities
from kasboot.sandbox.gitlab.store import Row


@dataclass
class RequestContext:
    backend: GitLabBackend
    entities: Entities
    method: str
    url: str  # scheme://host/path, no query: the base of pagination links
    params: dict[str, Any]  # query string and body merged, as Grape does
    path: dict[str, str]
    headers: dict[str, str]
    _principal: Principal | None = field(default=None, repr=False)

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD")

    def token(self) -> tuple[str | None, bool]:
        """(the token, whether it came as ``Authorization: Bearer``): GitLab's
        ``AuthFinders`` look a PRIVATE-TOKEN up among access tokens only, a Bearer
        token among OAuth tokens first."""
        private = self.headers.get("private-token")
        if private:
            return private, False
        authorization = self.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            return authorization[7:].strip(), True
        return None, False

    def principal(self, scopes: list[str] | None = None) -> Principal:
        """The authenticated caller (401), holding one of ``scopes`` (403 insufficient_scope)."""
        if self._principal is None:
            token, bearer = self.token()
            self._principal = self.backend.authenticate(token, bearer=bearer)
        allowed = scopes or (WRITE_SCOPES if self.is_write else READ_SCOPES)
        self.backend.require_scope(self._principal, allowed)
        return self._principal

    def project(self) -> tuple[Row, Principal]:
        principal = self.principal()
        return self.backend.find_project(self.path["id"], principal), principal

    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def flag(self, name: str) -> bool:
        return str(self.params.get(name, "")).lower() in ("true", "1", "yes")


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=headers)


def no_content() -> Response:
    return Response(status_code=204)


def error_response(error: err.GitLabApiError) -> JSONResponse:
    return JSONResponse(error.body, status_code=error.status, headers=error.headers)
