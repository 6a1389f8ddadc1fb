"""Rows <-> domain objects. Columns are named after the attrs fields; enums are stored as ``.value``,
money as BIGINT minor units, timestamps as timestamptz (read back as UTC).

Each context's module declares its tables with ``Table`` (``adapters/postgres/payments.py``...)."""
from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

Row = Mapping[str, Any]


def _utc(value: Any) -> Any:
    return value.astimezone(UTC) if isinstance(value, datetime) else value


@attrs.frozen
class Table:
    """How one aggregate is stored: its table, key column, columns, and the conversions."""

    name: str
    cls: type
    key: str
    columns: tuple[str, ...]
    #: Column -> callable that turns the stored value back into the attribute's value.
    decoders: Mapping[str, Callable[[Any], Any]] = attrs.field(factory=dict)
    #: Extra SQL expressions selected after the columns (name -> expression).
    extras: Mapping[str, str] = attrs.field(factory=dict)
    versioned: bool = False
    key_expr: str | None = None  # SQL matched against a key parameter (default: the key column)
    #: Column -> callable computing its value from the object, for a column that is no attribute.
    encoders: Mapping[str, Callable[[Any], Any]] = attrs.field(factory=dict)
    #: Makes the object from the decoded values (default ``cls(**values)``), for such columns.
    build: Callable[[dict[str, Any]], Any] | None = None
    _plan: tuple = attrs.field(init=False, repr=False, eq=False)

    @property
    def where_key(self) -> str:
        return f"{self.key_expr or self.key} = %s"

    def select(self, alias: str = "t") -> str:
        if alias == "t":
            return self._plan[4]
        return self._select(alias)

    def _select(self, alias: str) -> str:
        cols = [f"{alias}.{c}" for c in self.columns]
        cols += [f"({expr}) AS {name}" for name, expr in self.extras.items()]
        return f"SELECT {', '.join(cols)} FROM {self.name} {alias}"

    def __attrs_post_init__(self) -> None:
        # the conversions planned once per table: every row read or written goes through them
        plain = tuple(c for c in self.columns if c not in self.encoders)
        read = (*self.columns, *self.extras)
        undecoded = tuple(c for c in read if c not in self.decoders)
        decoders = tuple((c, self.decoders[c]) for c in read if c in self.decoders)
        object.__setattr__(self, "_plan", (plain, undecoded, decoders, tuple(self.encoders.items()),
                                           self._select("t")))

    def to_row(self, obj: Any) -> dict[str, Any]:
        plain, _, _, encoders, _ = self._plan
        row = {c: v.value if isinstance(v := getattr(obj, c), enum.Enum) else v for c in plain}
        for column, encode in encoders:
            row[column] = encode(obj)
        return row

    def from_row(self, row: Row) -> Any:
        _, undecoded, decoders, _, _ = self._plan
        values = {c: v.astimezone(UTC) if isinstance(v := row[c], datetime) else v for c in undecoded}
        for column, decode in decoders:
            values[column] = decode(row[column])
        return self.cls(**values) if self.build is None else self.build(values)

    def insert_sql(self) -> str:
        cols = ", ".join(self.columns)
        marks = ", ".join(f"%({c})s" for c in self.columns)
        return f"INSERT INTO {self.name} ({cols}) VALUES ({marks})"

    def update_sql(self, check_version: bool) -> str:
        sets = ", ".join(f"{c} = %({c})s" for c in self.columns if c != self.key)
        where = f"{self.key_expr or self.key} = %(__key)s"
        if check_version:
            where += " AND version = %(__loaded_version)s"
        return f"UPDATE {self.name} SET {sets} WHERE {where}"


def fields_of(cls: type, *, skip: Sequence[str] = ()) -> tuple[str, ...]:
    """The attrs fields of ``cls`` stored as columns (all but ``events`` and ``skip``)."""
    return tuple(f.name for f in attrs.fields(cls) if f.name not in ("events", *skip))
