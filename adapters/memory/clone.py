"""A deep copy of the stored rows (attrs objects of plain values), faster than ``copy.deepcopy``.

``copy.deepcopy`` goes through ``__reduce_ex__`` and ``copyreg`` for every attrs object: most of the
memory mode's pay-path CPU (bench/RESULTS.md). ``clone`` copies what the rows are made of directly
and hands anything else to ``copy.deepcopy``; like it, it keeps shared references shared (a memo)."""
from __future__ import annotations

import copy
import datetime
import decimal
import enum
import uuid
from typing import Any

import attrs

#: Values that are never changed in place: the copy is the value itself, as deepcopy's is.
_ATOMIC = frozenset({str, int, float, bool, bytes, type(None), datetime.datetime, datetime.date,
                     datetime.timedelta, decimal.Decimal, uuid.UUID, frozenset})
#: attrs classes that ``clone`` copies field by field (slotted, so no attribute lives outside the fields).
_PLAIN: dict[type, tuple[str, ...] | None] = {}


def _fields(cls: type) -> tuple[str, ...] | None:
    names = _PLAIN.get(cls, ())
    if names == ():
        names = None
        if attrs.has(cls) and "__dict__" not in dir(cls) and not hasattr(cls, "__deepcopy__"):
            names = tuple(f.name for f in attrs.fields(cls))
        _PLAIN[cls] = names
    return names


def clone(obj: Any, memo: dict[int, Any] | None = None) -> Any:
    cls = type(obj)
    if cls in _ATOMIC or isinstance(obj, enum.Enum):
        return obj
    if memo is None:
        memo = {}
    found = memo.get(id(obj))
    if found is not None:
        return found
    if cls is list:
        new: Any = []
        memo[id(obj)] = new
        new.extend(clone(item, memo) for item in obj)
    elif cls is dict:
        new = {}
        memo[id(obj)] = new
        for key, value in obj.items():
            new[clone(key, memo)] = clone(value, memo)
    elif cls is tuple:
        new = tuple(clone(item, memo) for item in obj)
        memo[id(obj)] = new
    elif (names := _fields(cls)) is not None:
        new = object.__new__(cls)
        memo[id(obj)] = new
        for name in names:
            try:
                value = getattr(obj, name)
            except AttributeError:  # a slot never set: left unset, as deepcopy leaves it
                continue
            object.__setattr__(new, name, clone(value, memo))
    else:
        new = copy.deepcopy(obj, memo)
    memo.setdefault(id(obj), new)
    if new is not obj:
        memo.setdefault(id(memo), []).append(obj)  # keep obj alive while memo is: ids stay unique, as deepcopy does
    return new
