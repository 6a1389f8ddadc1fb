"""Server-side prepared statements for the unit of work's statements (psycopg2 has none of its own).

psycopg2 sends every statement as text, so Postgres parses and plans it every time. For the wide
single-row selects and updates of the repositories that is most of the server's work: a 22-column
select by key ran 2.5x faster prepared than parsed each time (pgbench on this machine,
bench/RESULTS.md). Here each statement shape is prepared once per connection (``PREPARE``, its own
round trip, the first time that connection sees it) and then sent as ``EXECUTE name(args)``, its
arguments quoted by psycopg2 exactly as before.

``PREPARE`` is not transactional (a prepared statement outlives a rollback) and is sent on its own,
so what this module remembers of a connection is always what the server holds. Only single
statements with ``%s`` or ``%(name)s`` placeholders are prepared; anything else (a ``;``, a literal
``%``) is sent as it is.
"""
from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import aiopg
import attrs

_PLACEHOLDER = re.compile(r"%\((?P<name>[^)]+)\)s|%s|%%|%")


@attrs.frozen
class Statement:
    name: str
    text: str  #: the statement with $1..$n
    keys: tuple[str | int, ...]  #: for each $i, its key in a params mapping or index in a sequence

    def arguments(self, params: Mapping[str, Any] | Sequence[Any]) -> list[Any]:
        return [params[k] for k in self.keys]  # type: ignore[index]


_parsed: dict[str, Statement | None] = {}


def parse(sql: str) -> Statement | None:
    """``sql`` with numbered parameters, or None when it is not a statement this module prepares."""
    if sql in _parsed:
        return _parsed[sql]
    statement = _parse(sql)
    if len(_parsed) < 10_000:  # statement shapes are few; this only guards against a runaway caller
        _parsed[sql] = statement
    return statement


def _parse(sql: str) -> Statement | None:
    if ";" in sql:
        return None
    named: dict[str, int] = {}
    keys: list[str | int] = []
    positional = 0
    kinds = set()
    parts: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(sql):
        token = match.group(0)
        if token == "%":  # a literal percent sign in the text: leave this statement alone
            return None
        parts.append(sql[last:match.start()])
        last = match.end()
        if token == "%%":
            parts.append("%")
        elif token == "%s":
            kinds.add("positional")
            keys.append(positional)
            positional += 1
            parts.append(f"${len(keys)}")
        else:
            kinds.add("named")
            name = match.group("name")
            if name not in named:
                keys.append(name)
                named[name] = len(keys)
            parts.append(f"${named[name]}")
    if len(kinds) > 1:
        return None
    parts.append(sql[last:])
    text = "".join(parts)
    return Statement("pp_" + hashlib.sha1(text.encode()).hexdigest()[:20], text, tuple(keys))


#: The statement names prepared on each live connection.
_known: weakref.WeakKeyDictionary[aiopg.Connection, set[str]] = weakref.WeakKeyDictionary()


def known(conn: aiopg.Connection) -> set[str]:
    names = _known.get(conn)
    if names is None:
        names = _known[conn] = set()
    return names


def execute_call(cur: aiopg.Cursor, statement: Statement, params: Any) -> str:
    """``EXECUTE name(args)`` with the arguments quoted by psycopg2 (no placeholders left in it)."""
    arguments: Sequence[Any] = statement.arguments(params)
    if not arguments:
        return f"EXECUTE {statement.name}"
    call = cur.mogrify(f"EXECUTE {statement.name}({', '.join(['%s'] * len(arguments))})", list(arguments))
    return call.decode() if isinstance(call, bytes) else call
