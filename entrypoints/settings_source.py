"""Reading the settings from the environment (for ``entrypoints.settings``).

A field names its variable with ``env("PAYPORT_HOST", "127.0.0.1")`` (a family of variables with
``env_family("PAYPORT_TTL_", defaults)``); ``EnvironmentSource`` walks the settings model for those
names, so the declarations are the only list of variables. It refuses a ``PAYPORT_*`` variable
nobody declared, suggesting the nearest known name, and ``explain`` turns a validation error into
``VARIABLE='value': why``.
"""
from __future__ import annotations

import difflib
import functools
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource

from adapters.gateways.config import gateway_settings_from_env

#: PAYPORT_* variables that are read outside the settings (before they exist, or by other programs).
READ_ELSEWHERE = {
    "PAYPORT_LOG_LEVEL": "the log level of every payport command (entrypoints/cli.py, read before the settings)",
    "PAYPORT_LOG_FORMAT": "json or text: forces the log format (default: text on a terminal, JSON elsewhere)",
    "PAYPORT_ACCESS_LOG": "all, errors (400 and above, or slower than 1 s) or off: which requests get an access line",
    "PAYPORT_UVLOOP": "off: payport serve and the benchmark baseline run on the standard asyncio loop",
    "PAYPORT_SECURITY_FULL": "1: the security battery's long variants (tests/security)",
    "PAYPORT_RELIABILITY_FULL": "1: the reliability battery's long variants (tests/reliability, docs/reliability.md)",
    "PAYPORT_REFRESH_SCREENS": "1: the browser tests write their screenshots to docs/screens/ (tests/browser)",
}
#: Prefixes of PAYPORT_* variables that belong to the test suite and the benchmark.
READ_ELSEWHERE_PREFIXES = ("PAYPORT_TEST_", "PAYPORT_BENCH")

_environ: ContextVar[Mapping[str, str]] = ContextVar("payport_environ")


class SettingsError(ValueError):
    """A setting that cannot work: the message names the variable (``payport`` exits 2 with it)."""


def env(name: str, default: Any = None, **kwargs: Any) -> Any:
    """A field read from the variable ``name``."""
    return Field(default, json_schema_extra={"env": name}, **kwargs)


def env_family(prefix: str, default: Mapping[str, Any]) -> Any:
    """A dict field whose entry ``key`` is read from ``prefix + KEY`` (the keys are ``default``'s)."""
    return Field(default_factory=lambda: dict(default), json_schema_extra={"env_prefix": prefix})


def variables(model: type[BaseModel], path: tuple[str, ...] = ()) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(variable, path in ``model``) for every setting read from the environment."""
    for key, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if name := extra.get("env"):
            yield str(name), (*path, key)
        elif prefix := extra.get("env_prefix"):
            for entry in field.default_factory():  # type: ignore[call-arg, misc]
                yield f"{prefix}{entry.upper()}", (*path, key, entry)
        elif isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            yield from variables(field.annotation, (*path, key))


@functools.cache
def declared(model: type[BaseModel]) -> dict[str, tuple[str, ...]]:
    return dict(variables(model))


def unknown_variables(environ: Mapping[str, str], model: type[BaseModel]) -> list[str]:
    """One message per PAYPORT_* variable that no setting (nor anything else of ours) reads."""
    known = [*declared(model), *READ_ELSEWHERE]
    problems = []
    for name in sorted(environ):
        if not name.startswith("PAYPORT_") or name in known or name.startswith(READ_ELSEWHERE_PREFIXES):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        problems.append(f"{name}: unknown setting; did you mean {close[0]}?" if close
                        else f"{name}: unknown setting (payport config lists the settings)")
    return problems


@contextmanager
def reading(environ: Mapping[str, str]) -> Iterator[None]:
    """``EnvironmentSource`` reads ``environ`` (not ``os.environ``) inside this block."""
    token = _environ.set(environ)
    try:
        yield
    finally:
        _environ.reset(token)


class EnvironmentSource(PydanticBaseSettingsSource):
    """The declared variables as nested values, plus the gateways' settings from the same
    environment; unknown PAYPORT_* variables refused."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is read at once in __call__

    def __call__(self) -> dict[str, Any]:
        environ = _environ.get(os.environ)
        if problems := unknown_variables(environ, self.settings_cls):
            raise SettingsError("; ".join(problems))
        data: dict[str, Any] = {}
        for name, path in declared(self.settings_cls).items():
            if name in environ:
                target = data
                for part in path[:-1]:
                    target = target.setdefault(part, {})
                target[path[-1]] = environ[name]
        data["gateways"] = gateway_settings_from_env(environ)
        return data


_REASONS = {"int_parsing": "expected a whole number", "int_from_float": "expected a whole number",
            "float_parsing": "expected a number", "bool_parsing": "expected on or off"}


def explain(error: Mapping[str, Any], model: type[BaseModel]) -> str:
    """``VARIABLE='raw': why`` for one validation error of ``model``."""
    loc = tuple(str(part) for part in error["loc"])
    if error["type"] == "value_error" and not loc:  # a check across settings
        return str(error["ctx"]["error"])
    paths = {path: name for name, path in declared(model).items()}
    name = next((paths[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in paths), ".".join(loc))
    if error["type"] == "value_error":
        reason = str(error["ctx"]["error"])
    elif error["type"] == "literal_error":
        reason = f"expected {error['ctx']['expected']}"
    else:
        reason = _REASONS.get(error["type"], error["msg"])
    return f"{name}={error['input']!r}: {reason}"


def redact(url: str | None) -> str | None:
    """``url`` without its password (``postgres://u:***@h/db``, ``password=***`` in a libpq string)."""
    if not url:
        return url
    if "://" in url:
        parts = urlsplit(url)
        if parts.password:
            return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))
        return url
    return re.sub(r"(password\s*=\s*)(\S+)", r"\1***", url)
