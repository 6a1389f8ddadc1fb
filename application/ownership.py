"""The ownership rule in one place: another caller's resource is indistinguishable from a missing one."""
from __future__ import annotations

from typing import TypeVar

from application.errors import NotFound
from domain.users import Principal

T = TypeVar("T")


def visible(resource: T | None, principal: Principal, what: str, owner_attr: str = "owner_id", **details) -> T:
    """``resource`` if it exists and ``principal`` may see it; otherwise NotFound (never 403)."""
    if resource is None or not principal.may_see(getattr(resource, owner_attr)):
        raise NotFound(f"no such {what}", **details)
    return resource
