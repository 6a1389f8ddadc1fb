"""An app serves the route tables it is given: a context's table handed to create_app is routed,
goes through the same pipeline, and is described in that app's /openapi.json (and no other's)."""
from __future__ import annotations

from pydantic import BaseModel

from entrypoints.http.app import create_app
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.routes import ROUTE_TABLES
from tests.e2e.api import Api

routes = RouteTable("example")


class GreetingOut(BaseModel):
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
    assert set(spec["paths"]) == {"/health/live", "/health/ready", "/metrics", "/openapi.json", "/docs"}
    await bare.call("GET", "/api/v1/example/greetings/ada", expect=404)
