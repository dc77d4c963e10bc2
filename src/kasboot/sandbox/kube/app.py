"""The HTTP layer: maps Kubernetes API paths and verbs onto the backend, renders
errors as Status objects, serves Tables to ``kubectl get``, and streams watches."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from . import discovery, openapi, pods, workloads
from .backend import KubeBackend, present
from .errors import KubeApiError, bad_request, expired, status_body
from .protobuf_envelope import UNKNOWN_FORMAT_MESSAGE, object_from_protobuf
from .rbac import Authorizer
from .registry import ResourceType
from .selectors import Predicate, field_selector, label_selector
from .store import WatchEvent
from .table import table

Obj = dict[str, Any]
NOT_FOUND_MESSAGE = "the server could not find the requested resource"


@dataclass
class Target:
    """What a resource path names."""

    resource_type: ResourceType
    version: str
    namespace: str | None
    name: str | None = None
    subresource: str | None = None


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json")


def _error(error: KubeApiError) -> Response:
    return _json(error.status(), error.code)


def _not_found() -> KubeApiError:
    return KubeApiError(404, NOT_FOUND_MESSAGE, "NotFound", {})


def _wants_table(request: Request) -> bool:
    return "as=table" in request.headers.get("accept", "").replace(" ", "").lower()


def _is_true(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true")


class KubeHttpApi:
    def __init__(
        self, backend: KubeBackend, server_version: str, bookmark_interval: float = 10.0
    ) -> None:
        self.backend = backend
        self.server_version = server_version
        self.bookmark_interval = bookmark_interval
        self.rbac = Authorizer(backend)  # namespace-scoped users (rbac.py)
        self.app = Starlette(
            routes=[
                Route("/version", self.version),
                Route("/version/", self.version),  # the Python client asks with a slash
                Route("/api", self.core_versions),
                Route("/apis", self.group_list),
                Route("/api/{rest:path}", self.core, methods=_METHODS),
                Route("/apis/{rest:path}", self.named, methods=_METHODS),
                Route("/openapi/v3", self.openapi_root),
                Route("/openapi/v3/{rest:path}", self.openapi_document),
                Route("/-/sandbox/images", self.sandbox_images, methods=["GET", "PUT"]),
                Route("/-/sandbox/pod-logs", self.sandbox_pod_logs, methods=["POST"]),
                Route("/healthz", self.healthy),
                Route("/livez", self.healthy),
                Route("/readyz", self.healthy),
                Route("/{rest:path}", self.unknown, methods=_METHODS),
            ]
        )

    # ---- discovery ----------------------------------------------------------------------

    async def version(self, request: Request) -> Response:
        return JSONResponse(discovery.version_info(self.server_version))

    async def core_versions(self, request: Request) -> Response:
        return JSONResponse(discovery.core_versions(request.url.netloc))

    async def group_list(self, request: Request) -> Response:
        return JSONResponse(discovery.group_list(self.backend.registry))

    async def openapi_root(self, request: Request) -> Response:
        return JSONResponse(openapi.root(self.backend.registry))

    async def openapi_document(self, request: Request) -> Response:
        parts = [p for p in request.path_params["rest"].split("/") if p]
        document = None
        if parts[:1] == ["api"] and len(parts) == 2:
            document = openapi.gv_document(self.backend.registry, "", parts[1])
        elif parts[:1] == ["apis"] and len(parts) == 3:
            document = openapi.gv_document(self.backend.registry, parts[1], parts[2])
        return JSONResponse(document) if document else _error(_not_found())

    async def sandbox_images(self, request: Request) -> Response:
        """Control route: ``{"unpullable": [fnmatch pattern…]}``, the images the emulated
        kubelet cannot pull (PUT replaces them and re-evaluates every Deployment)."""
        images = self.backend.images
        if request.method == "PUT":
            body = json.loads(await request.body() or b"{}")
            try:
                images.set_unpullable(list(body.get("unpullable") or []))
            except (TypeError, ValueError) as error:
                return _json({"message": str(error)}, 400)
            workloads.refresh_deployments(self.backend)
        return _json({"unpullable": list(images.unpullable)})

    async def sandbox_pod_logs(self, request: Request) -> Response:
        """Control route for the simulated containers: ``{"namespace", "deployment",
        "lines": [...]}`` appends the lines to the log of every running pod of that
        Deployment; answers how many pods wrote them."""
        body = json.loads(await request.body() or b"{}")
        lines = body.get("lines")
        if not isinstance(lines, list) or not body.get("deployment"):
            return _json({"message": "give namespace, deployment and lines (a list)"}, 400)
        with self.backend.store.transaction():
            written = pods.append_log(
                self.backend,
                str(body.get("namespace") or ""),
                str(body["deployment"]),
                [str(line) for line in lines],
            )
        return _json({"pods": written})

    async def healthy(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def unknown(self, request: Request) -> Response:
        return _error(_not_found())

    # ---- resources ----------------------------------------------------------------------

    async def core(self, request: Request) -> Response:
        parts = [p for p in request.path_params["rest"].split("/") if p]
        if not parts:
            return await self.core_versions(request)
        return await self._dispatch(request, "", parts[0], parts[1:])

    async def named(self, request: Request) -> Response:
        parts = [p for p in request.path_params["rest"].split("/") if p]
        registry = self.backend.registry
        if not parts:
            return await self.group_list(request)
        if len(parts) == 1:
            found = discovery.group(registry, parts[0])
            return JSONResponse(found) if found else _error(_not_found())
        return await self._dispatch(request, parts[0], parts[1], parts[2:])

    async def _dispatch(
        self, request: Request, group: str, version: str, rest: list[str]
    ) -> Response:
        try:
            if not rest:
                found = discovery.resource_list(self.backend.registry, group, version)
                if found is None:
                    raise _not_found()
                return JSONResponse(found)
            target = self._resolve(group, version, rest)
            self.rbac.check(request.headers, request.method, request.query_params, target)
            return await self._handle(request, target)
        except KubeApiError as error:
            return _error(error)

    def _resolve(self, group: str, version: str, rest: list[str]) -> Target:
        registry = self.backend.registry
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3 and not (group == "" and rest[2] == "status"):
            namespace, rest = rest[1], rest[2:]
        resource_type = registry.lookup(group, version, rest[0])
        if resource_type is None or len(rest) > 3:
            raise _not_found()
        if namespace is not None and not resource_type.namespaced:
            raise _not_found()
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if subresource is not None and not (
            (subresource == "status" and resource_type.has_status)
            or (subresource == "log" and resource_type.key == pods.POD_KEY)
        ):
            raise _not_found()
        if resource_type.namespaced and name is not None and namespace is None:
            raise _not_found()
        return Target(resource_type, version, namespace, name, subresource)

    async def _handle(self, request: Request, target: Target) -> Response:
        method = request.method
        query = request.query_params
        backend = self.backend
        rt, version, namespace = target.resource_type, target.version, target.namespace
        dry_run = query.get("dryRun") == "All"
        if target.name is None:
            matches = self._selectors(request, rt)
            if method == "GET" and _is_true(query.get("watch")):
                return self._watch(request, target, matches)
            if method == "GET":
                listed = backend.list(
                    rt,
                    version,
                    namespace,
                    matches,
                    int(query.get("limit") or 0),
                    query.get("continue"),
                )
                if _wants_table(request):
                    return _json(
                        table(
                            rt,
                            listed["items"],
                            listed["metadata"],
                            include_object=query.get("includeObject", "Metadata"),
                        )
                    )
                return _json(listed)
            if method == "POST":
                created = backend.create(
                    rt, version, namespace, await self._body(request), dry_run=dry_run
                )
                return _json(created, 201)
            if method == "DELETE":
                return _json(backend.delete_collection(rt, version, namespace, matches))
            raise KubeApiError(
                405,
                "the server does not allow this method on the requested resource",
                "MethodNotAllowed",
            )
        name = target.name
        if target.subresource == "log":
            if method != "GET":
                raise KubeApiError(
                    405,
                    "the server does not allow this method on the requested resource",
                    "MethodNotAllowed",
                )
            return PlainTextResponse(pods.read_log(backend, namespace or "", name, query))
        if method == "GET":
            obj = backend.get(rt, version, namespace, name)
            if _wants_table(request):
                return _json(
                    table(
                        rt,
                        [obj],
                        {"resourceVersion": obj["metadata"]["resourceVersion"]},
                        include_object=query.get("includeObject", "Metadata"),
                    )
                )
            return _json(obj)
        if method == "PUT":
            body = await self._body(request)
            return _json(
                backend.replace(
                    rt,
                    version,
                    namespace,
                    name,
                    body,
                    subresource=target.subresource,
                    dry_run=dry_run,
                )
            )
        if method == "PATCH":
            patched, was_created = backend.patch(
                rt,
                version,
                namespace,
                name,
                request.headers.get("content-type", ""),
                await request.body(),
                subresource=target.subresource,
                field_manager=query.get("fieldManager"),
                dry_run=dry_run,
            )
            return _json(patched, 201 if was_created else 200)
        if method == "DELETE" and target.subresource is None:
            raw = await request.body()
            options = json.loads(raw) if raw.strip() else {}
            return _json(
                backend.delete(
                    rt, version, namespace, name, options.get("preconditions"), dry_run=dry_run
                )
            )
        raise KubeApiError(
            405,
            "the server does not allow this method on the requested resource",
            "MethodNotAllowed",
        )

    @staticmethod
    async def _body(request: Request) -> Any:
        content_type = request.headers.get("content-type", "")
        if "cbor" in content_type:
            raise KubeApiError(415, UNKNOWN_FORMAT_MESSAGE, "UnsupportedMediaType")
        raw = await request.body()
        if "protobuf" in content_type:  # client-go's typed clients; answered in JSON
            return object_from_protobuf(raw)
        try:
            if "yaml" in content_type:
                return yaml.safe_load(raw.decode())
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as error:
            raise bad_request(f"the body of the request could not be decoded: {error}") from error

    @staticmethod
    def _selectors(request: Request, resource_type: ResourceType) -> Predicate:
        by_label = label_selector(request.query_params.get("labelSelector"))
        by_field = field_selector(request.query_params.get("fieldSelector"), resource_type)
        return lambda obj: by_label(obj) and by_field(obj)

    # ---- watch ----------------------------------------------------------------------------

    def _watch(self, request: Request, target: Target, matches: Predicate) -> Response:
        query = request.query_params
        requested = query.get("resourceVersion") or ""
        if requested not in ("", "0") and not requested.isdigit():
            raise bad_request(f'invalid resource version "{requested}"')
        timeout = float(query.get("timeoutSeconds") or 0)
        as_table = _wants_table(request)
        stream = self._watch_events(
            target,
            matches,
            requested,
            timeout,
            _is_true(query.get("allowWatchBookmarks")),
            as_table,
        )
        return StreamingResponse(stream, media_type="application/json")

    async def _watch_events(
        self,
        target: Target,
        matches: Predicate,
        requested: str,
        timeout: float,
        bookmarks: bool,
        as_table: bool,
    ) -> AsyncIterator[bytes]:
        store = self.backend.store
        rt = target.resource_type
        first = True

        def render(event_type: str, obj: Obj) -> bytes:
            nonlocal first
            body: Obj = present(dict(obj), rt, target.version)  # history is shared
            if as_table and event_type != "BOOKMARK":
                body = table(
                    rt,
                    [body],
                    {"resourceVersion": obj["metadata"]["resourceVersion"]},
                    with_headers=first,
                )
                first = False
            return (json.dumps({"type": event_type, "object": body}) + "\n").encode()

        with store.transaction():
            if requested in ("", "0"):
                initial, list_version = store.list_objects(rt.group, rt.plural, target.namespace)
                subscription = store.subscribe(list_version)
                last_seen = list_version
            else:
                initial, last_seen = [], int(requested)
                subscription = store.subscribe(last_seen)
        if subscription is None:
            floor = store.history_floor
            error = expired(f"too old resource version: {requested} ({floor})")
            yield (json.dumps({"type": "ERROR", "object": error.status()}) + "\n").encode()
            return
        backlog, queue = subscription
        try:
            for obj in initial:
                if matches(obj):
                    yield render("ADDED", obj)
            for event in backlog:
                line = self._event_line(event, target, matches, render)
                last_seen = event.resource_version
                if line:
                    yield line
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout if timeout else None
            while True:
                wait = self.bookmark_interval
                if deadline is not None:
                    wait = min(wait, deadline - loop.time())
                try:
                    if wait <= 0:
                        raise asyncio.TimeoutError
                    event = await asyncio.wait_for(queue.get(), wait)
                except asyncio.TimeoutError:
                    if bookmarks:
                        mark = {
                            "kind": rt.kind,
                            "apiVersion": rt.api_version(target.version),
                            "metadata": {"resourceVersion": str(last_seen)},
                        }
                        yield (json.dumps({"type": "BOOKMARK", "object": mark}) + "\n").encode()
                    if deadline is not None and loop.time() >= deadline:
                        return
                    continue
                last_seen = event.resource_version
                line = self._event_line(event, target, matches, render)
                if line:
                    yield line
        finally:
            store.unsubscribe(queue)

    @staticmethod
    def _event_line(
        event: WatchEvent, target: Target, matches: Predicate, render: Any
    ) -> bytes | None:
        rt = target.resource_type
        if (event.group, event.plural) != rt.key:
            return None
        if target.namespace is not None and event.namespace != target.namespace:
            return None
        now_matches = matches(event.obj)
        if event.type != "MODIFIED":
            return render(event.type, event.obj) if now_matches else None
        before_matched = event.previous is not None and matches(event.previous)
        if now_matches and before_matched:
            return render("MODIFIED", event.obj)
        if now_matches:
            return render("ADDED", event.obj)
        if before_matched:  # left the selection: the watcher sees it go
            return render("DELETED", event.obj)
        return None


_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def status_for_fault(code: int, reason: str) -> Obj:
    """How an injected error looks: a Status, as the API server (or its proxy) sends."""
    return status_body(code, reason, reason.replace(" ", ""))
