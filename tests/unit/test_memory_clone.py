"""The memory store's copy of a row is a deep copy: equal, independent, with shared parts still shared."""
from __future__ import annotations

import copy
import enum
from datetime import UTC, datetime

import attrs

from adapters.memory.clone import clone


class Colour(enum.Enum):
    RED = "red"


@attrs.frozen
class Line:
    sku: str
    quantity: int


@attrs.define
class Row:
    id: str
    lines: list[Line]
    tags: list[str]
    meta: dict[str, object]
    colour: Colour = Colour.RED
    at: datetime = datetime(2026, 12, 2, tzinfo=UTC)
    events: list[object] = attrs.field(factory=list)


class Legacy:  # no attrs: handed to copy.deepcopy
    def __init__(self) -> None:
        self.items = [1, 2]


def _row() -> Row:
    shared = ["a", "b"]
    return Row("r1", [Line("S", 1), Line("T", 2)], shared, {"same": shared, "nested": {"n": [1]},
                                                            "legacy": Legacy()})


def test_a_clone_equals_a_deepcopy_and_is_independent() -> None:
    row = _row()
    twin = clone(row)
    assert attrs.asdict(twin, recurse=True, filter=lambda a, v: a.name != "meta") == \
        attrs.asdict(copy.deepcopy(row), recurse=True, filter=lambda a, v: a.name != "meta")
    twin.tags.append("c")
    twin.meta["nested"]["n"].append(2)
    twin.lines.append(Line("U", 3))
    twin.meta["legacy"].items.append(3)
    assert row.tags == ["a", "b"] and row.meta["nested"]["n"] == [1] and len(row.lines) == 2
    assert row.meta["legacy"].items == [1, 2]
    assert twin.colour is Colour.RED and twin.at == row.at


def test_shared_parts_stay_shared_in_the_clone() -> None:
    twin = clone(_row())
    assert twin.meta["same"] is twin.tags  # as deepcopy keeps them
    twin.tags.append("z")
    assert twin.meta["same"][-1] == "z"
