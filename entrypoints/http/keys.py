"""Typed application state keys (aiohttp ``web.AppKey``)."""
from typing import Any

from aiohttp import web

SERVICES = web.AppKey("services", Any)
#: the route tables the app serves (``endpoint.RouteTable``), in routing order
TABLES = web.AppKey("route_tables", tuple)
#: the app's OpenAPI document (``openapi.Document``), built from its tables on first request
OPENAPI = web.AppKey("openapi", Any)
