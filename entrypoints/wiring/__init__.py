"""The container, split by concern (dependency-injector's multiple-containers layout).

``core``, ``storage``, ``cache`` and ``gateways`` pick the adapters; each bounded context has a
container of its own (``identity.py``, ``catalog.py``, ...) that builds its use cases from them
through ``providers.DependenciesContainer``. The root ``container.Container`` holds one
``providers.Container(...)`` line per context.

Found by registration, never listed centrally:
- a context container's providers are its services (``ctx.services.<name>``), except its
  dependencies and the registrations below; an infrastructure container names what it shares in
  ``exports`` ({service name: provider name});
- ``jobs``: the worker's jobs (a list provider);
- ``subscriptions``: objects whose ``subscribe_to(uow_factory)`` runs at start-up (in-transaction
  event handlers);
- ``delivery_senders``: ``{channel: send}`` for the delivery dispatcher.
"""
from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from typing import Any

from dependency_injector import containers, providers

#: Provider names that register something instead of being a service.
REGISTRATIONS = frozenset({"jobs", "subscriptions", "delivery_senders"})


async def resolve(provider: Any) -> Any:
    """A provider's value; providers downstream of an async Resource hand back an awaitable."""
    value = provider()
    return await value if inspect.isawaitable(value) else value


def parts(root: containers.Container) -> Iterator[tuple[str, containers.Container]]:
    """(name, container) for every container the root holds, in declaration order."""
    for name, provider in root.providers.items():
        if isinstance(provider, providers.Container):
            yield name, provider()


def service_providers(root: containers.Container) -> Iterator[tuple[str, providers.Provider]]:
    """(service name, provider) for everything handlers may reach as ``ctx.services.<name>``."""
    for _, part in parts(root):
        exports = getattr(part.declarative_parent, "exports", None)
        if exports is not None:
            yield from ((name, part.providers[target]) for name, target in exports.items())
            continue
        for name, provider in part.providers.items():
            if name not in REGISTRATIONS and not isinstance(
                    provider, (providers.DependenciesContainer, providers.Configuration)):
                yield name, provider


async def _registered(root: containers.Container, registration: str) -> AsyncIterator[tuple[str, Any]]:
    for name, part in parts(root):
        if (provider := part.providers.get(registration)) is not None:
            yield name, await resolve(provider)


async def gather_list(root: containers.Container, registration: str) -> list[Any]:
    """Every container's ``registration`` list, in declaration order."""
    return [item async for _, value in _registered(root, registration) for item in value]


async def gather_dict(root: containers.Container, registration: str) -> dict[str, Any]:
    """Every container's ``registration`` dict, merged (a key registered twice is a wiring error)."""
    merged: dict[str, Any] = {}
    async for name, value in _registered(root, registration):
        if twice := merged.keys() & value.keys():
            raise RuntimeError(f"the {name} container registers {registration} {sorted(twice)} again")
        merged.update(value)
    return merged
