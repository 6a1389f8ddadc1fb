"""Typed application state keys (aiohttp ``web.AppKey``)."""
from typing import Any

from aiohttp import web

SERVICES = web.AppKey("services", Any)
