"""Conformance: the concrete unit of work of each adapter (the ``backend`` fixture: memory and
Postgres) meets every narrow ``*UnitOfWork`` Protocol in ``application/ports``, and carries what its
registry lists. The Protocols are found by scanning the modules, so a new context's is checked
without editing this file."""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from typing import Protocol

import pytest

import application.ports
from adapters.memory.session import MemorySession
from adapters.postgres.session import PostgresSession
from adapters.unit_of_work import merge_repositories
from application.ports.repositories import UnitOfWork

_PROTOCOL_MACHINERY = {"__init__", "__subclasshook__", "__init_subclass__", "__class_getitem__"}


def narrow_unit_of_work_protocols() -> dict[str, type]:
    """Every Protocol named ``*UnitOfWork`` defined in a module of ``application.ports`` but the base."""
    found = {}
    for info in pkgutil.iter_modules(application.ports.__path__):
        module = importlib.import_module(f"{application.ports.__name__}.{info.name}")
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and obj.__module__ == module.__name__ and name.endswith("UnitOfWork")
                    and getattr(obj, "_is_protocol", False) and obj is not UnitOfWork):
                found[f"{info.name}.{name}"] = obj
    return found


def protocol_methods(protocol: type) -> dict[str, bool]:
    """The methods ``protocol`` (and the Protocols it extends) declares: name -> declared async."""
    methods: dict[str, bool] = {}
    for cls in reversed(protocol.__mro__):
        if cls in (object, Protocol, typing.Generic):
            continue
        for name, value in vars(cls).items():
            if inspect.isfunction(value) and name not in _PROTOCOL_MACHINERY:
                methods[name] = inspect.iscoroutinefunction(value)
    return methods


def _method_problems(obj: object, methods: dict[str, bool], where: str) -> list[str]:
    problems = []
    for name, is_async in methods.items():
        found = getattr(obj, name, None)
        if not callable(found):
            problems.append(f"{where}.{name} is missing")
        elif inspect.iscoroutinefunction(found) != is_async:
            problems.append(f"{where}.{name} should {'' if is_async else 'not '}be async")
    return problems


def conformance_problems(uow: object, protocol: type) -> list[str]:
    """What ``uow`` lacks to meet ``protocol``: its methods, each annotated repository, and every
    method of that repository's Protocol (async where the Protocol's is)."""
    problems = _method_problems(uow, protocol_methods(protocol), protocol.__name__)
    for attribute, repository_protocol in typing.get_type_hints(protocol).items():
        repository = getattr(uow, attribute, None)
        if repository is None:
            problems.append(f"{protocol.__name__}.{attribute}: the unit of work has none")
        elif getattr(repository_protocol, "_is_protocol", False):
            problems += _method_problems(repository, protocol_methods(repository_protocol),
                                         f"{protocol.__name__}.{attribute}")
    return problems


NARROW = narrow_unit_of_work_protocols()


def test_the_scan_finds_the_contexts_protocols():
    names = {name.split(".")[1] for name in NARROW}
    assert {"IdentityUnitOfWork", "CatalogUnitOfWork", "CartUnitOfWork", "DeliveryUnitOfWork",
            "CheckoutUnitOfWork", "OrdersUnitOfWork", "PaymentsUnitOfWork", "NotificationsUnitOfWork"} <= names
    assert protocol_methods(NARROW["payments.PaymentsUnitOfWork"]).keys() >= {
        "__aenter__", "__aexit__", "commit", "rollback", "after_commit"}


@pytest.mark.parametrize("name", sorted(NARROW))
async def test_the_unit_of_work_meets_every_narrow_protocol(backend, name):
    async with backend.uow() as uow:
        assert conformance_problems(uow, NARROW[name]) == []


# -- the check itself can fail -------------------------------------------------------------------

class _Things(Protocol):
    async def get(self, key: str) -> object: ...
    async def add(self, thing: object) -> None: ...
    def count(self) -> int: ...


class _ThingsUnitOfWork(UnitOfWork, Protocol):
    things: _Things
    others: _Things


class _HalfThings:
    def get(self, key: str) -> object:  # not async
        return None

    async def count(self) -> int:  # async, the Protocol's is not
        return 0


class _HalfUnitOfWork:
    things = _HalfThings()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None: ...

    def commit(self) -> None: ...  # not async

    async def rollback(self) -> None: ...


def test_the_check_names_what_is_missing_or_not_async():
    assert sorted(conformance_problems(_HalfUnitOfWork(), _ThingsUnitOfWork)) == [
        "_ThingsUnitOfWork.after_commit is missing",
        "_ThingsUnitOfWork.commit should be async",
        "_ThingsUnitOfWork.others: the unit of work has none",
        "_ThingsUnitOfWork.things.add is missing",
        "_ThingsUnitOfWork.things.count should not be async",
        "_ThingsUnitOfWork.things.get should be async",
    ]


# -- the registry --------------------------------------------------------------------------------

class MemoryGreetings:
    """A new context's repository in miniature: built on the unit of work's session, a table of its own."""

    def __init__(self, session: MemorySession) -> None:
        self.session = session

    async def add(self, name: str) -> None:
        self.session.write("greetings", name, {"name": name, "text": f"hello {name}"}, new=True)

    async def text(self, name: str) -> str | None:
        row = self.session.read("greetings", name)
        return row and row["text"]


class PostgresGreetings:
    """The same on Postgres: its statements run on the unit of work's connection."""

    def __init__(self, session: PostgresSession) -> None:
        self.session = session
        self.added: dict[str, str] = {}

    async def add(self, name: str) -> None:
        (row,) = await self.session.fetch("SELECT 'hello ' || %s AS text", [name])
        self.added[name] = row["text"]

    async def text(self, name: str) -> str | None:
        return self.added.get(name)


async def test_a_unit_of_work_carries_what_its_registry_adds(backend):
    greetings = MemoryGreetings if backend.name == "memory" else PostgresGreetings
    async with backend.uow() as uow:
        assert not hasattr(uow, "greetings")
    extended = backend.uow_with({"greetings": greetings})
    async with extended() as uow:
        assert isinstance(uow.greetings, greetings) and uow.greetings.session is uow.session
        await uow.greetings.add("ada")
        assert await uow.greetings.text("ada") == "hello ada"
        assert await uow.orders.get("ord_1") is None  # the registered contexts are all still there
        await uow.commit()
    if backend.name == "memory":  # committed with the rest, in a table made on first use
        assert backend.store.tables["greetings"]["ada"]["text"] == "hello ada"


def test_two_contexts_claiming_one_name_is_an_error():
    class First:
        REPOSITORIES = {"orders": object}
        __name__ = "first"

    class Second:
        REPOSITORIES = {"orders": object}
        __name__ = "second"

    with pytest.raises(ValueError, match="'orders'"):
        merge_repositories([First, Second])
