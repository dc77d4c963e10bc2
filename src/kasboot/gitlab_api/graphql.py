"""GitLab's GraphQL API through python-gitlab's client (``gitlab.GraphQL``, gql over httpx).

The client's HTTP goes through the seam's own requests session (``RequestsTransport``),
so a GraphQL request has what every GitLab request of a run has: one retry policy and
the run's --timeout (retrying.py), the user agent, the CA to trust, the request log.

- A query is sent as ``GET /api/graphql?query=…&variables=…`` (GitLab serves queries
  over GET): a read, repeated like any GET when its answer is unclear.
- A mutation is sent as ``POST``, once: an unclear answer goes back to the caller, which
  reads GitLab again before anything is sent again (writes.py).
- A query naming a field this GitLab release does not have fails validation
  (``undefinedField``, ``argumentNotAccepted``): ``GraphQLUnsupported``, on which callers
  fall back to the REST API."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from kasboot.errors import GitLabError
from kasboot.gitlab_api.reads import Reads

if TYPE_CHECKING:
    import gitlab
    import httpx

GRAPHQL_PATH = "/api/graphql"
UNSUPPORTED_CODES = frozenset({"undefinedField", "argumentNotAccepted", "undefinedType"})
_MUTATION = re.compile(r"\A\s*mutation\b")
# Headers requests has already acted on: the content is decoded, its length changed.
_CONSUMED_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class GraphQLUnsupported(Exception):
    """This GitLab has no such field or argument (an older release): use REST."""


class GraphQLRefused(GitLabError):
    """GitLab's GraphQL API answered with errors (exit 4 unless the caller falls back)."""


class GraphQLHTTPError(Exception):
    """An HTTP error status from /api/graphql, with GitLab's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _transport_class() -> Any:
    import httpx

    class RequestsTransport(httpx.BaseTransport):
        """httpx → the seam's requests session (retry policy, deadline, request log)."""

        def __init__(self, session: Any, headers: dict[str, str]) -> None:
            self._session = session
            self._headers = headers

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            payload = json.loads(request.read() or b"{}")
            query = str(payload.get("query") or "")
            url = str(request.url)
            headers = {**self._headers, "Accept": "application/json"}
            if _MUTATION.match(query):
                headers["Content-Type"] = "application/json"
                answer = self._session.request(
                    "POST", url, data=json.dumps(payload).encode(), headers=headers
                )
            else:
                params = {"query": query}
                if payload.get("variables"):
                    params["variables"] = json.dumps(payload["variables"])
                if payload.get("operationName"):
                    params["operationName"] = str(payload["operationName"])
                answer = self._session.request("GET", f"{url}?{urlencode(params)}", headers=headers)
            if answer.status_code >= 400:
                raise GraphQLHTTPError(
                    answer.status_code, f"{answer.status_code} {_message(answer)}"
                )
            kept = [(k, v) for k, v in answer.headers.items() if k.lower() not in _CONSUMED_HEADERS]
            return httpx.Response(
                answer.status_code, headers=kept, content=answer.content, request=request
            )

    return RequestsTransport


def _message(answer: Any) -> str:
    try:
        body = answer.json()
    except ValueError:
        return f"{answer.status_code} {answer.reason or ''}".strip()
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        return "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict))
    return str(body.get("message") or body.get("error") or body) if isinstance(body, dict) else ""


class GraphQLReads(Reads):
    """The seam's GraphQL requests (queries and mutations) on the run's session."""

    _graphql_client: gitlab.GraphQL | None = None

    def _graphql(self) -> gitlab.GraphQL:
        if self._graphql_client is None:
            import gitlab
            import httpx

            transport = _transport_class()(self._session, self._auth_headers)
            client = httpx.Client(transport=transport)
            self._graphql_client = gitlab.GraphQL(self.url, client=client)
        return self._graphql_client

    def graphql(self, query: str, variables: dict[str, Any], doing: str) -> dict[str, Any]:
        """The ``data`` of one query or mutation. GitLab's GraphQL errors become a
        GitLabError (exit 4), a field this release lacks ``GraphQLUnsupported``."""
        import gitlab
        from gql.transport.exceptions import TransportConnectionFailed, TransportQueryError

        with self._errors(doing):
            try:
                return dict(self._graphql().execute(query, variable_values=variables))
            except TransportConnectionFailed as error:
                cause = error.__cause__
                if isinstance(cause, GraphQLHTTPError):
                    kind = (
                        gitlab.exceptions.GitlabAuthenticationError
                        if cause.status == 401
                        else gitlab.exceptions.GitlabHttpError
                    )
                    raise kind(error_message=cause.message, response_code=cause.status) from None
                if cause is not None:
                    raise cause from None
                raise
            except TransportQueryError as error:
                errors = [e for e in (error.errors or []) if isinstance(e, dict)]
                codes = {str((e.get("extensions") or {}).get("code", "")) for e in errors}
                text = "; ".join(str(e.get("message", "")) for e in errors) or str(error)
                if codes & UNSUPPORTED_CODES:
                    raise GraphQLUnsupported(text) from None
                raise GraphQLRefused(f"GitLab's GraphQL API refused {doing}: {text}") from None
