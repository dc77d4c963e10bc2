"""GitLab's GraphQL API over the seam's own requests session: a GraphQL request has what
every GitLab request of a run has — one retry policy and the run's --timeout
(retrying.py), the user agent, the CA to trust, the request log. GraphQL over HTTP is one
JSON document each way, so no GraphQL client library is loaded (python-gitlab's
``gitlab.GraphQL`` would bring gql and httpx to every start-up).

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
from typing import Any
from urllib.parse import urlencode

from kasboot.errors import GitLabError
from kasboot.gitlab_api.reads import Reads

GRAPHQL_PATH = "/api/graphql"
UNSUPPORTED_CODES = frozenset({"undefinedField", "argumentNotAccepted", "undefinedType"})
_MUTATION = re.compile(r"\A\s*mutation\b")


class GraphQLUnsupported(Exception):
    """This GitLab has no such field or argument (an older release): use REST."""


class GraphQLRefused(GitLabError):
    """GitLab's GraphQL API answered with errors (exit 4 unless the caller falls back)."""


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

    def _post_or_get(self, query: str, variables: dict[str, Any]) -> Any:
        """One HTTP request to /api/graphql: a query as GET (a read), a mutation as
        POST (sent once)."""
        url = f"{self.url}{GRAPHQL_PATH}"
        headers = {**self._auth_headers, "Accept": "application/json"}
        if _MUTATION.match(query):
            headers["Content-Type"] = "application/json"
            body = json.dumps({"query": query, "variables": variables}).encode()
            return self._session.request("POST", url, data=body, headers=headers)
        params = {"query": query}
        if variables:
            params["variables"] = json.dumps(variables)
        return self._session.request("GET", f"{url}?{urlencode(params)}", headers=headers)

    def graphql(self, query: str, variables: dict[str, Any], doing: str) -> dict[str, Any]:
        """The ``data`` of one query or mutation. GitLab's GraphQL errors become a
        GitLabError (exit 4), a field this release lacks ``GraphQLUnsupported``."""
        import gitlab

        with self._errors(doing):
            answer = self._post_or_get(query, variables)
            if answer.status_code >= 400:
                kind = (
                    gitlab.exceptions.GitlabAuthenticationError
                    if answer.status_code == 401
                    else gitlab.exceptions.GitlabHttpError
                )
                raise kind(
                    error_message=f"{answer.status_code} {_message(answer)}",
                    response_code=answer.status_code,
                )
            try:
                body = answer.json()
            except ValueError:
                raise GraphQLRefused(
                    f"GitLab's GraphQL API answered {doing} with no JSON document"
                ) from None
            if not isinstance(body, dict):
                raise GraphQLRefused(f"GitLab's GraphQL API answered {doing} with {body!r}")
            # GitLab answers errors with 200; any of them (even beside partial data) means
            # the answer cannot be trusted whole, as GraphQL clients treat it
            errors = [e for e in (body.get("errors") or []) if isinstance(e, dict)]
            if errors:
                codes = {str((e.get("extensions") or {}).get("code", "")) for e in errors}
                text = "; ".join(str(e.get("message", "")) for e in errors)
                if codes & UNSUPPORTED_CODES:
                    raise GraphQLUnsupported(text)
                raise GraphQLRefused(f"GitLab's GraphQL API refused {doing}: {text}")
            return dict(body.get("data") or {})
