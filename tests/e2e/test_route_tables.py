"""An app serves the route tables it is given: a context's table handed to create_app is routed,
goes through the same pipeline, and is described in that app's /openapi.json (and no other's)."""
from __future__ import annotations

import pytest

from entrypoints.http.app import create_app
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.routes import ROUTE_TABLES
from entrypoints.http.schemas import Out
from tests.e2e.api import Api

routes = RouteTable("example")


class GreetingOut(Out):
    greeting: str
    caller: str | None


@routes.endpoint("GET", "/api/v1/example/greetings/{name}", summary="Greet someone", response=GreetingOut,
                 auth="optional")
async def greet(ctx: Ctx):
    return json_response({"greeting": f"hello {ctx.request.match_info['name']}",
                          "caller": ctx.principal.id if ctx.principal else None})


async def test_an_extra_table_is_routed_and_described(aiohttp_client, container):
    api = Api(await aiohttp_client(create_app(container, tables=(*ROUTE_TABLES, routes))))
    assert await api.json("GET", "/api/v1/example/greetings/ada", expect=200) == {"greeting": "hello ada",
                                                                                 "caller": None}
    h = await api.guest()
    assert (await api.json("GET", "/api/v1/example/greetings/ada", h, expect=200))["caller"].startswith("gst")
    problem = await api.json("GET", "/api/v1/example/greetings/ada", {"Authorization": "Basic x"}, expect=401)
    assert problem["code"] == "unauthorized"
    resp, _ = await api.call("POST", "/api/v1/example/greetings/ada", expect=405)
    assert resp.headers["Allow"] == "GET"
    spec = await api.json("GET", "/openapi.json", expect=200)
    op = spec["paths"]["/api/v1/example/greetings/{name}"]["get"]
    assert op["operationId"] == "example_greet" and op["tags"] == ["example"]
    ok = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert set(spec["components"]["schemas"][ok]["required"]) == {"greeting", "caller"}
    assert "/api/v1/payment/payments/initiate" in spec["paths"]  # the other tables are still there


async def test_an_app_describes_only_its_own_tables(aiohttp_client, container):
    api = Api(await aiohttp_client(create_app(container, tables=(routes, *ROUTE_TABLES))))
    spec = await api.json("GET", "/openapi.json", expect=200)
    assert "/api/v1/example/greetings/{name}" in spec["paths"]
    ops_only = [t for t in ROUTE_TABLES if t.name == "ops"]
    bare = Api(await aiohttp_client(create_app(container, tables=ops_only)))
    spec = await bare.json("GET", "/openapi.json", expect=200)
    assert set(spec["paths"]) == {"/health/live", "/health/ready", "/metrics", "/openapi.json"}
    await bare.call("GET", "/api/v1/example/greetings/ada", expect=404)


drifting = RouteTable("drifting")


@drifting.endpoint("GET", "/api/v1/drifting/{how}", summary="Answers what it does not declare", response=GreetingOut,
                   auth="none")
async def drift(ctx: Ctx):
    bodies = {"typed": {"greeting": 1, "caller": None}, "missing": {"greeting": "hi"},
              "extra": {"greeting": "hi", "caller": None, "mood": "sunny"}, "fine": {"greeting": "hi", "caller": None}}
    return json_response(bodies[ctx.request.match_info["how"]])


async def test_the_e2e_helper_fails_an_answer_its_route_does_not_declare(aiohttp_client, container):
    api = Api(await aiohttp_client(create_app(container, tables=(*ROUTE_TABLES, drifting))))
    await api.call("GET", "/api/v1/drifting/fine", expect=200)
    for how, says in (("typed", "greeting"), ("missing", "caller"), ("extra", r"does not declare \['.mood'\]")):
        with pytest.raises(AssertionError, match=says):
            await api.call("GET", f"/api/v1/drifting/{how}", expect=200)
