"""Request readers: query strings as typed models (``query=`` on a route, read as ``ctx.query``)
with clear 422s, and form bodies with a 400 for a malformed one."""
from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Annotated, ClassVar, TypeVar
from urllib.parse import urlencode

import attrs
from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError
from yarl import URL

from application.pagination import DEFAULT_LIMIT, MAX_LIMIT
from domain.errors import InvalidValue
from entrypoints.http.problems import MalformedForm
from entrypoints.http.text import has_nul, refuse_nul


@attrs.frozen
class Refusal:
    """What the 422 says when this parameter is refused (``{input!r}`` names what was sent):
    whatever check refused it, or, with ``lengths=False``, any but a value too long, which says
    ``<name> is at most <n> characters`` as a parameter without a Refusal does."""

    message: str
    lengths: bool = True


class Query(BaseModel):
    """A route's query string: typed in the spec, parsed by ``parse_query``. Each parameter is
    read once (the first of repeated ones); parameters the model does not name are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, use_enum_values=True)
    _no_nul = refuse_nul
    #: a value too long is named before any other parameter's mistake (the first otherwise)
    lengths_first: ClassVar[bool] = False


Q = TypeVar("Q", bound=BaseModel)


def parse_query(model: type[Q], request: web.Request) -> Q:
    """``request``'s query string as ``model``; InvalidValue (422, ``field`` the parameter) for
    the first parameter it refuses."""
    return parse_fields(model, dict(request.query))


def parse_fields(model: type[Q], fields: Mapping[str, object]) -> Q:
    """``fields`` (a query string's, a form's) as ``model``; InvalidValue (422, ``field`` the
    parameter) for the first one it refuses."""
    try:
        return model.model_validate(dict(fields))
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if getattr(model, "lengths_first", False):
            errors.sort(key=lambda e: e["type"] != "string_too_long")  # stable: in order within each kind
        error = errors[0]
        field = str(error["loc"][0]) if error["loc"] else "query"
        raise InvalidValue(_refusal(model, field, error), field=field) from None


def _refusal(model: type[BaseModel], field: str, error: dict) -> str:
    too_long = error["type"] == "string_too_long"
    declared = model.model_fields.get(field)
    for meta in declared.metadata if declared else ():
        if isinstance(meta, Refusal) and (meta.lengths or not too_long):
            return meta.message.format(input=error.get("input"))
    if too_long:
        return f"{field} is at most {error['ctx']['max_length']} characters"
    return f"{field}: {error['msg']}"


def at_most(length: int) -> BeforeValidator:
    """Refuses a value longer than ``length`` as too long, before a type (an enum) that would
    refuse it for another reason."""
    def check(value: object) -> object:
        if isinstance(value, str) and len(value) > length:
            raise PydanticCustomError("string_too_long", "String should have at most {max_length} characters",
                                      {"max_length": length})
        return value
    return BeforeValidator(check)


def _whole_number(value: object) -> object:
    if isinstance(value, str):
        if not value.isdigit():
            raise ValueError("not a whole number")
        return int(value)
    return value


#: a whole number sent as text (a query parameter, a form field)
WHOLE_NUMBER = BeforeValidator(_whole_number)
#: an empty parameter (``?status=``) is an absent one
BLANK_IS_NONE = BeforeValidator(lambda value: value or None)

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_text(value: object) -> object:
    """A date parameter is ISO text (``2026-12-01`` or a date-time), never a number read as a Unix
    timestamp (``?to=0``)."""
    if isinstance(value, str) and not _ISO_DAY.match(value):
        raise ValueError("not an ISO date (YYYY-MM-DD) or date-time")
    return value


#: a date or date-time parameter: ISO text only
ISO_TEXT = BeforeValidator(_iso_text)

Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT), BeforeValidator(_whole_number),
                  Refusal(f"limit must be a whole number from 1 to {MAX_LIMIT}")]
Cursor = Annotated[Annotated[str, StringConstraints(max_length=512)] | None, BLANK_IS_NONE,
                   Field(description="next_cursor of the page before"), Refusal("cursor is not one this API returned")]
Text = Annotated[Annotated[str, StringConstraints(max_length=100)] | None, BLANK_IS_NONE]
#: true for ``1``, ``true`` or ``yes`` in any case; anything else is false (so the document says
#: any string: none is refused)
Flag = Annotated[bool, BeforeValidator(lambda value: value.lower() in ("1", "true", "yes")
                                       if isinstance(value, str) else value),
                 WithJsonSchema({"type": "string", "description": "1, true or yes (any case): true; else false",
                                 "x-any-text": True})]


class Page(Query):
    """A list's page: ``limit`` (default 10, at most 100) items after ``cursor``."""

    limit: Limit = DEFAULT_LIMIT
    cursor: Cursor = None


def canonical_query(request: web.Request) -> str:
    """The query string in one order (``b=2&a=1`` and ``a=1&b=2`` name one cached list). A pure
    function of the raw query string, so the usual short ones are remembered (bounded)."""
    raw = request.rel_url.raw_query_string
    if len(raw) > 256:
        return urlencode(sorted(request.query.items()))
    return _canonical(raw)


@functools.lru_cache(maxsize=1024)
def _canonical(raw: str) -> str:
    return urlencode(sorted(URL.build(query_string=raw, encoded=True).query.items()))


async def read_form(request: web.Request):
    """``request.post()``, with what it raises on a malformed body (a multipart type with no
    boundary, an unknown charset) turned into ``MalformedForm``: a 400, never a 500."""
    try:
        form = await request.post()
    except (ValueError, LookupError, UnicodeError, AssertionError) as exc:
        raise MalformedForm(str(exc)[:200]) from None
    if any(has_nul(key) or (isinstance(value, str) and has_nul(value)) for key, value in form.items()):
        raise MalformedForm("a form field holds a NUL character")
    return form
