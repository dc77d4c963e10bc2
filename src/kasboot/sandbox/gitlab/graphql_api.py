"""``/api/graphql``: GitLab's GraphQL endpoint, executed by graphql-core on the schema of
graphql_schema.py, resolved from the same backend as the REST API.

What follows GitLab (``app/controllers/graphql_controller.rb``, ``app/graphql/``):
- queries come as ``POST`` (JSON ``{query, variables, operationName}``) or as ``GET``
  (``?query=…&variables=<json>``); a mutation in a GET is refused;
- the token is found as for REST (PRIVATE-TOKEN or Bearer); an invalid one is HTTP 401
  ``{"errors": [{"message": "Invalid token"}]}``; no token reads public data only;
- ``read_api`` suffices for queries, mutations need ``api``;
- an object the caller may not read resolves to ``null`` (no error), as GitLab's
  authorization of types (``authorize :admin_cluster`` on agents and tokens: Maintainer);
- validation errors are answered HTTP 200 with GitLab's (graphql-ruby's) wording and
  ``extensions``: ``Field 'x' doesn't exist on type 'Y'`` (``undefinedField``),
  ``Field 'x' doesn't accept argument 'y'`` (``argumentNotAccepted``);
- connections give at most 100 nodes a page (``max_page_size``), with opaque cursors.
"""

from __future__ import annotations

import base64
import json
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.context import RequestContext
from kasboot.sandbox.gitlab.graphql_mutations import MUTATIONS
from kasboot.sandbox.gitlab.graphql_schema import graphql_dashboard_since, schema_for
from kasboot.sandbox.gitlab.graphql_types import gid, project_node

if TYPE_CHECKING:
    from graphql import DocumentNode, GraphQLError, GraphQLSchema

    from kasboot.sandbox.gitlab.backend import Principal
    from kasboot.sandbox.gitlab.versions import Release

MAX_PAGE_SIZE = 100
_UNDEFINED_FIELD = re.compile(r"Cannot query field '(\w+)' on type '(\w+)'\.")
_UNKNOWN_ARGUMENT = re.compile(r"Unknown argument '(\w+)' on field '(\w+)\.(\w+)'\.")


def connection(items: list[Any], args: dict[str, Any]) -> dict[str, Any]:
    """A GitLab connection page: ``first`` (≤ 100) after an opaque cursor."""
    start = 0
    if args.get("after"):
        start = int(base64.b64decode(str(args["after"])).decode().split(":", 1)[1]) + 1
    size = min(int(args.get("first") or MAX_PAGE_SIZE), MAX_PAGE_SIZE)
    page = items[start : start + size]

    def cursor(index: int) -> str:
        return base64.b64encode(f"offset:{index}".encode()).decode()

    return {
        "count": len(items),
        "nodes": page,
        "edges": [{"cursor": cursor(start + i), "node": node} for i, node in enumerate(page)],
        "pageInfo": {
            "hasNextPage": start + size < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": cursor(start) if page else None,
            "endCursor": cursor(start + len(page) - 1) if page else None,
        },
    }


def gitlab_error(error: Any) -> dict[str, Any]:
    """graphql-core's error in graphql-ruby's words, where GitLab's differ."""
    formatted: dict[str, Any] = dict(error.formatted)
    message = str(formatted.get("message", ""))
    undefined = _UNDEFINED_FIELD.match(message)
    if undefined:
        field, type_name = undefined.groups()
        formatted["message"] = f"Field '{field}' doesn't exist on type '{type_name}'"
        formatted["extensions"] = {
            "code": "undefinedField",
            "typeName": type_name,
            "fieldName": field,
        }
    unknown = _UNKNOWN_ARGUMENT.match(message)
    if unknown:
        argument, type_name, field = unknown.groups()
        formatted["message"] = f"Field '{field}' doesn't accept argument '{argument}'"
        formatted["extensions"] = {
            "code": "argumentNotAccepted",
            "name": field,
            "typeName": "Field",
            "argumentName": argument,
        }
    return formatted


def _errors(status: int, *messages: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": m} for m in messages]}, status_code=status)


def _request_of(ctx: RequestContext) -> tuple[str, dict[str, Any], str | None]:
    query = ctx.param("query")
    variables = ctx.param("variables") or {}
    if isinstance(variables, str):
        try:
            variables = json.loads(variables) if variables else {}
        except ValueError:
            variables = None
    if not isinstance(variables, dict):
        raise err.GitLabApiError(422, {"errors": [{"message": "Unexpected parameters"}]})
    return str(query or ""), variables, ctx.param("operationName")


def _principal(ctx: RequestContext) -> Principal | None:
    token, _ = ctx.token()
    if not token:
        return None
    try:
        return ctx.principal(["api", "read_api"])
    except err.GitLabApiError as error:
        if error.status == 403:
            raise err.GitLabApiError(
                403, {"errors": [{"message": "Insufficient scope for this request"}]}
            ) from None
        raise err.GitLabApiError(401, {"errors": [{"message": "Invalid token"}]}) from None


def warm(release: Release) -> None:
    """Build the schema and load the GraphQL engine now, as GitLab's workers load theirs
    when they boot (gitlabhq config/environments/production.rb: `config.eager_load =
    true`, so GitlabSchema is loaded before the first request): else the first query
    of a sandbox's life pays for the import of graphql-core's executor and the schema's
    build (a tenth of a second), which no running GitLab does."""
    from graphql import execute_sync  # noqa: F401

    schema_for(release)


@lru_cache(maxsize=64)
def _checked(schema: GraphQLSchema, query: str) -> tuple[DocumentNode, tuple[GraphQLError, ...]]:
    """The query parsed and validated against the schema, once per (schema, text): a
    client sends the same few documents again and again, and parsing and validating
    them cost more than executing them."""
    from graphql import parse, validate

    document = parse(query)
    return document, tuple(validate(schema, document))


def execute(ctx: RequestContext) -> Response:
    from graphql import OperationType, execute_sync, get_operation_ast
    from graphql.error import GraphQLError

    query, variables, operation_name = _request_of(ctx)
    if not query:
        return _errors(200, "No query string was present")
    principal = _principal(ctx)
    release = ctx.backend.release
    schema = schema_for(release)
    try:
        document, problems = _checked(schema, query)
    except GraphQLError as error:
        return JSONResponse({"errors": [gitlab_error(error)]})
    if problems:
        return JSONResponse({"errors": [gitlab_error(problem) for problem in problems]})
    operation = get_operation_ast(document, operation_name)
    is_mutation = operation is not None and operation.operation == OperationType.MUTATION
    if is_mutation and ctx.method == "GET":
        return _errors(405, "Mutations are forbidden in GET requests")
    if is_mutation:
        if principal is None:
            return _errors(
                200,
                "The resource that you are attempting to access does not exist "
                "or you don't have permission to perform this action",
            )
        ctx.backend.require_scope(principal, ["api"])
    root = Root(ctx, principal, dashboard=graphql_dashboard_since(release))
    result = execute_sync(
        schema,
        document,
        root_value=root.mutations() if is_mutation else root.queries(),
        variable_values=variables,
        operation_name=operation_name,
    )
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [gitlab_error(error) for error in result.errors]
    return JSONResponse(body)


class Root:
    """The query and mutation roots for one request."""

    def __init__(self, ctx: RequestContext, principal: Principal | None, *, dashboard: bool):
        self.ctx = ctx
        self.principal = principal
        self.dashboard = dashboard

    def queries(self) -> dict[str, Any]:
        return {
            "currentUser": self._current_user,
            "metadata": self._metadata,
            "project": self._project,
        }

    def mutations(self) -> dict[str, Any]:
        return {name: _bind(handler, self) for name, handler in MUTATIONS.items()}

    def _current_user(self, info: Any) -> dict[str, Any] | None:
        if self.principal is None:
            return None
        user = self.principal.user
        return {
            "id": gid("User", user["id"]),
            "username": user["username"],
            "name": user["name"],
            "publicEmail": user["email"],
            "commitEmail": user.get("commit_email") or user["email"],
        }

    def _metadata(self, info: Any) -> dict[str, Any] | None:
        if self.principal is None:
            return None  # GitLab: metadata needs :read_instance_metadata (a signed-in user)
        meta = self.ctx.backend.metadata()
        return {
            "version": meta["version"],
            "revision": meta["revision"],
            "enterprise": bool(meta.get("enterprise")),
            "kas": meta["kas"],
        }

    def _project(self, info: Any, fullPath: str) -> dict[str, Any] | None:
        backend = self.ctx.backend
        project = backend.project_by_path(str(fullPath))
        if project is None:
            return None
        user_id = self.principal.user_id if self.principal else 0
        if project["visibility"] != "public" and backend.access_level(project, user_id) < 10:
            return None
        return project_node(self.ctx, project, self.principal, connection, self.dashboard)


def _bind(handler: Any, root: Root) -> Any:
    def resolve(info: Any, input: dict[str, Any]) -> Any:
        return handler(root.ctx, root.principal, root.dashboard, input)

    return resolve
