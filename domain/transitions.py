"""Transition tables: which status may follow which, as data (DESIGN.md §2, STYLE 3).

Each aggregate's module declares its table next to its status enum with ``table(Status, {...})``,
which checks it and registers it: ``check_transition`` and ``can_transition`` find it by the
enum's type, and the exhaustive tests walk ``registered()``. There is no central list to edit.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TypeVar

from domain.errors import IllegalTransition

S = TypeVar("S", bound=enum.Enum)

_TABLES: dict[type[enum.Enum], Mapping[enum.Enum, frozenset[enum.Enum]]] = {}


def table(vocabulary: type[S], allowed: Mapping[S, Iterable[S]]) -> Mapping[S, frozenset[S]]:
    """Register ``vocabulary``'s transitions (every member has a row; a terminal one an empty row)."""
    rows = {state: frozenset(targets) for state, targets in allowed.items()}
    missing = [m.name for m in vocabulary if m not in rows]
    strangers = [repr(s) for s in (*rows, *(t for ts in rows.values() for t in ts)) if not isinstance(s, vocabulary)]
    if missing or strangers:
        raise ValueError(f"the {vocabulary.__name__} table lacks rows for {missing} or names {strangers}")
    if vocabulary in _TABLES:
        raise ValueError(f"{vocabulary.__name__} already has a transition table")
    frozen = MappingProxyType(rows)
    _TABLES[vocabulary] = frozen
    return frozen


def registered() -> Mapping[type[enum.Enum], Mapping[enum.Enum, frozenset[enum.Enum]]]:
    """Every table registered so far (those of the domain modules imported), by status enum."""
    return MappingProxyType(_TABLES)


def can_transition(current: enum.Enum, new: enum.Enum) -> bool:
    return type(current) is type(new) and new in _TABLES[type(current)][current]


def check_transition(current: enum.Enum, new: enum.Enum, what: str) -> None:
    """Raise ``IllegalTransition`` unless ``current -> new`` is in the table of its enum."""
    if not can_transition(current, new):
        raise IllegalTransition(
            f"{what} cannot move from {current.value} to {new.value}",
            entity=what, current=current.value, requested=new.value,
        )
