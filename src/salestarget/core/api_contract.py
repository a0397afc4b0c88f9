"""What the REST API promises its callers: one error shape, bounded parameters, bounded pages.

Every answer other than 2xx is an :class:`ErrorOut` (``{"detail": str, "errors": [...]}``);
the exception handlers in ``salestarget/api.py`` produce it for ninja's own validation errors
(422), ``HttpError`` (its status), ``DomainError`` (400: what the caller asked cannot be done),
``Http404`` (404), ``PermissionDenied`` (403), failed authentication (401) and too large bodies
(413); any other exception is a bug, logged and answered 500.  Every operation lists the codes it can answer
with :func:`responses`, so the OpenAPI document (and ``tests/test_api_contract.py``, which runs
schemathesis over it) know them all.

Parameters use the bounded types below, so that no value a client can send reaches the database
or the engine as an overflow (a 500) and the bounds show in the OpenAPI document.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination
from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints
from pydantic_core import PydanticCustomError

# Ids are positive 64-bit integers (BigAutoField on SQLite and PostgreSQL alike).
MAX_ID = 2**63 - 1
# Money in minor units (fen), as everywhere in the app: ±10^15 fen = ±10 万亿 yuan.
MAX_AMOUNT = 10**15
# Headcounts and similar counts.
MAX_COUNT = 100_000
# Dates the app can compute with: month arithmetic around year 1 or 9999 overflows.
MIN_DATE, MAX_DATE = dt.date(1900, 1, 1), dt.date(2200, 12, 31)
# Pages: at most this many rows per answer, at most this far into a list.
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 2**31 - 1
# Text without control characters (NUL cannot be stored by PostgreSQL at all).
PLAIN_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,20}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _whole_number(value: Any) -> Any:
    """Query strings carry whole numbers as digits only: pydantic alone would take "1.0" too.
    (Bodies are validated strictly, so a JSON string there stays an error.)"""
    if isinstance(value, str) and not _WHOLE_NUMBER.fullmatch(value):
        raise PydanticCustomError("int_parsing", "Input should be a valid integer")
    return value


def _true_or_false(value: Any) -> Any:
    """Query strings carry booleans as true or false: pydantic alone would take 0, yes, off..."""
    if isinstance(value, str) and value.lower() not in ("true", "false"):
        raise PydanticCustomError("bool_parsing", "Input should be true or false")
    return value


def _iso_date(value: Any) -> Any:
    """Dates are ISO strings (YYYY-MM-DD) only: pydantic alone would read 0 as 1970-01-01."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        day = value
    elif isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("date_from_datetime_parsing", "Input should be a valid date") from None
    else:
        raise PydanticCustomError("date_type", "Input should be a date in the format YYYY-MM-DD")
    if not MIN_DATE <= day <= MAX_DATE:
        raise PydanticCustomError(
            "date_range",
            "Input should be a date from {min} to {max}",
            {"min": MIN_DATE.isoformat(), "max": MAX_DATE.isoformat()},
        )
    return day


def Whole(ge: int, le: int, **field: Any):
    """A whole number from ``ge`` to ``le``; the bounds show in the OpenAPI document.

    (The bounds come before the validator: after it, pydantic would still check them but
    document them as unknown keywords instead of minimum/maximum.)"""
    return Annotated[int, Field(ge=ge, le=le, **field), BeforeValidator(_whole_number)]


Bool = Annotated[bool, BeforeValidator(_true_or_false)]
IsoDate = Annotated[
    dt.date,
    Field(description=f"YYYY-MM-DD, from {MIN_DATE.isoformat()} to {MAX_DATE.isoformat()}"),
    BeforeValidator(_iso_date),
]
Id = Whole(1, MAX_ID)
Amount = Whole(-MAX_AMOUNT, MAX_AMOUNT, description="fen")
Count = Whole(0, MAX_COUNT)


def Text(max_length: int, min_length: int = 0):
    """A string of at most ``max_length`` characters, without control characters."""
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length, pattern=PLAIN_TEXT)]


class QueryIn(BaseModel):
    """Query parameters as a model. A plain pydantic model, not ninja's ``Schema``: that one
    reads attributes of any object, so a JSON body ``[null, null]`` would pass as all defaults."""


class BodyIn(QueryIn):
    """A JSON request body: an object, with every value of its documented type (strict: no
    "12" for 12, no 0 for false)."""

    model_config = ConfigDict(strict=True)


# --------------------------------------------------------------------------- errors


class ErrorItem(Schema):
    loc: list[str | int] = Field(
        description='where: ["query", "limit"], ["path", "unit_id"], ["body", "rows", 2, "date"] '
        "(list positions count from 0)"
    )
    message: str
    type: str = Field(description='a stable code: "missing", "less_than_equal", "row" (bulk rows)…')


class ErrorOut(Schema):
    """Every 4xx answer: a sentence for people, and for 400/422 each problem with its place."""

    detail: str
    errors: list[ErrorItem] = Field(default_factory=list)


# Status codes and what they mean on every operation that lists them.
ERROR_CODES = {
    400: "the request could not be read (body not JSON) or asks for something impossible",
    401: "no valid session or API token",
    403: "signed in, but not allowed (or the session's CSRF check failed)",
    404: "no such object among those you may see",
    409: "conflicts with the current state",
    413: "request body too large",
    422: "a parameter or a body field is missing or invalid; errors[] says which",
}


def responses(ok: Any, *codes: int) -> dict[int, Any]:
    """The ``response=`` of an operation: ``ok`` for 200, ErrorOut for 401 (every operation
    needs a session or token) and for each of ``codes``."""
    unknown = set(codes) - set(ERROR_CODES)
    if unknown:
        raise ValueError(f"undocumented error codes {sorted(unknown)}")
    return {200: ok, 401: ErrorOut, **dict.fromkeys(codes, ErrorOut)}


# --------------------------------------------------------------------------- pagination


class Pagination(LimitOffsetPagination):
    """``limit`` (1-1000, default 100) rows from ``offset`` (0 to 2^31-1); set for every
    ``@paginate`` by ``NINJA_PAGINATION_CLASS``."""

    class Input(QueryIn):
        limit: Whole(1, MAX_LIMIT, description="rows per page") = DEFAULT_LIMIT
        offset: Whole(0, MAX_OFFSET, description="rows to skip") = 0

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=MAX_LIMIT, **kwargs)
