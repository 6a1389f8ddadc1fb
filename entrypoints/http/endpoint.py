"""Route declarations: each context's ``RouteTable``, its ``@routes.endpoint(...)`` decorator and
the ``Route`` it records, ``Ctx`` (what a handler receives), and the declaration-time checks.

A route is declared once; the same declaration drives the router (``app.create_app``), the request
pipeline (``pipeline.wrap``) and the OpenAPI document, so they cannot drift apart. A mistake a
declaration can show is refused when the route is registered (``RouteTable.add``) or when an app is
made of the tables (``check_tables``), with the route named: at import or at start-up, never on a
request.
"""
from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any, Literal

import attrs
import orjson
from aiohttp import web
from pydantic import BaseModel

from domain.users import Principal
from entrypoints.http import cached as cached_read
from entrypoints.http.auth import Auth
from entrypoints.http.params import parse_query


class RouteDeclarationError(TypeError):
    """A route declared in a way that cannot work; the message names it."""


@attrs.define
class Ctx:
    """What a handler gets: the request, the app's services, the caller, the validated body, the
    Idempotency-Key, and ``query``."""

    request: web.Request
    services: Any
    principal: Principal | None
    body: Any
    idempotency_key: str | None
    #: the route's ``query=`` model
    query_model: type[BaseModel] | None = None
    _query: Any = attrs.field(default=None, init=False)
    #: an idempotent route's answer, stored by the handler's last unit of work (``idempotency.Staged``)
    staged: Any = attrs.field(default=None, init=False)

    @property
    def user(self) -> Principal:
        assert self.principal is not None
        return self.principal

    @property
    def query(self) -> Any:
        """The query string as the route's ``query=`` model, parsed on the first read: by the
        handler, so a cached hit never parses it, and a query refused (422) is never stored."""
        if self._query is None:
            if self.query_model is None:
                raise RouteDeclarationError(f"{self.request.method} {self.request.path}: its route declares no query=")
            self._query = parse_query(self.query_model, self.request)
        return self._query


@attrs.frozen
class Route:
    method: str
    path: str
    handler: Callable[[Ctx], Awaitable[web.StreamResponse]]
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    #: a form body (``application/x-www-form-urlencoded``), described in the spec; the handler reads it
    form: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    auth: Auth = "required"
    idempotency: Literal["none", "optional", "required"] = "none"
    #: a policy, or several (``("payment_initiate", "payment_initiate_ip")``): each counted per caller,
    #: or per client IP for a policy named ``..._ip``
    rate_limit: str | tuple[str, ...] | None = None
    #: the query string's model (``params.Query``): parameters typed in the spec, read as ``ctx.query``
    query: type[BaseModel] | None = None
    content_type: str = "application/json"
    #: where the answer is cached (``cached.one``, ``cached.page``): the wrapper serves it cache-aside,
    #: and the handler returns ``(owner id or None, payload)``, called only on a miss
    cached: cached_read.Cached | None = None
    #: unique across the app's tables; a table names it ``<table>_<handler>`` unless told otherwise
    operation_id: str = attrs.field(default=attrs.Factory(lambda self: self.handler.__name__, takes_self=True))

    #: no body, no Idempotency-Key, no rate limit: a GET of this route needs none of that machinery
    plain: bool = attrs.field(init=False)
    #: ``rate_limit`` as a tuple of policies
    limits: tuple[str, ...] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        limits = (self.rate_limit,) if isinstance(self.rate_limit, str) else tuple(self.rate_limit or ())
        object.__setattr__(self, "limits", limits)
        object.__setattr__(self, "plain", self.body is None and self.idempotency == "none" and not limits)
        if self.cached is not None and not (self.plain and self.method == "GET"
                                            and inspect.iscoroutinefunction(self.handler)):
            raise RouteDeclarationError(f"{self.name}: a cached read is a plain GET whose handler is async")

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def answers_json(self) -> bool:
        """Whether a success carries a JSON body (HTML, plain text, redirects and 204 do not)."""
        return self.content_type == "application/json" and self.status != 204 and not 300 <= self.status < 400


class RouteTable:
    """One context's routes: ``routes = RouteTable("payments")`` in its handlers module, each route
    declared with ``@routes.endpoint(...)``, the table listed in ``entrypoints/http/routes.py``."""

    def __init__(self, name: str, tag: str | None = None) -> None:
        if not name.isidentifier():
            raise RouteDeclarationError(f"route table {name!r}: its name is a Python identifier (it prefixes operationIds)")
        self.name, self.tag = name, tag or name
        self.routes: list[Route] = []

    def endpoint(self, method: str, path: str, *, summary: str, tag: str | None = None,
                 operation_id: str | None = None, **options: Any):
        """Register the decorated handler as ``method path``; ``options`` are ``Route``'s fields.
        A mutating POST honours Idempotency-Key unless it says otherwise."""
        def register(handler):
            opts = dict(options)
            if method == "POST" and "idempotency" not in opts and opts.get("auth", "required") != "none":
                opts["idempotency"] = "optional"
            self.add(Route(method, path, handler, summary, tag or self.tag,
                           operation_id=operation_id or f"{self.name}_{handler.__name__}", **opts))
            return handler
        return register

    def add(self, route: Route) -> None:
        if route.answers_json and route.response is None:
            raise RouteDeclarationError(f"{route.name}: a JSON route declares its response model (response=...)")
        for other in self.routes:
            if (other.method, other.path) == (route.method, route.path):
                raise RouteDeclarationError(f"{route.name}: declared twice in route table {self.name!r}")
            if other.operation_id == route.operation_id:
                raise RouteDeclarationError(f"{route.name}: operationId {route.operation_id!r} is also"
                                            f" {other.name}'s (give one operation_id=...)")
        self.routes.append(route)

    def __iter__(self) -> Iterator[Route]:
        return iter(self.routes)

    def __repr__(self) -> str:
        return f"RouteTable({self.name!r}, {len(self.routes)} routes)"


def check_tables(tables: Iterable[RouteTable], *, rate_limits: Mapping[str, Any],
                 ttls: Mapping[str, Any]) -> list[Route]:
    """Every route of ``tables``, in order, once the checks that need all of them, or the app's
    configuration, have passed: one route per method and path, operationIds unique (generated
    clients name their methods by them), each ``rate_limit=`` a configured policy and each cached
    read's TTL a configured TTL. Raises RouteDeclarationError naming the route."""
    routes: list[Route] = []
    by_operation: dict[str, Route] = {}
    by_path: dict[tuple[str, str], Route] = {}
    names: set[str] = set()
    for table in tables:
        if table.name in names:
            raise RouteDeclarationError(f"route table {table.name!r} is handed to the app twice")
        names.add(table.name)
        for route in table:
            other = by_operation.setdefault(route.operation_id, route)
            if other is not route:
                raise RouteDeclarationError(f"{route.name}: operationId {route.operation_id!r} is also {other.name}'s"
                                            " (give one operation_id=...)")
            other = by_path.setdefault((route.method, route.path), route)
            if other is not route:
                raise RouteDeclarationError(f"{route.name}: declared twice ({other.operation_id}, {route.operation_id})")
            for policy in route.limits:
                if policy not in rate_limits:
                    raise RouteDeclarationError(f"{route.name}: rate_limit={policy!r} is not a configured"
                                                f" policy ({', '.join(sorted(rate_limits))})")
            if route.cached is not None and route.cached.ttl not in ttls:
                raise RouteDeclarationError(f"{route.name}: cached TTL {route.cached.ttl!r} is not a configured"
                                            f" TTL ({', '.join(sorted(ttls))})")
            routes.append(route)
    return routes


def json_response(payload: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json",
                        headers=headers)
