"""Numbers and moments in requests: ids in paths, queries and JSON bodies, bounded to what
the database holds, and date-times that exist in UTC, so a fuzzer's `99999999999999999999`,
`³` or `0001-01-01T00:00:00+23:59` is a 400, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from aiohttp import web
from pydantic import AfterValidator, Field, WithJsonSchema

from handlers.errors import InvalidInput
from handlers.inputs import MAX_ID, whole_number

# A row id in a JSON body (pydantic): the same bounds as in a path.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# An id a body may leave out: documented as the id it is when given.
OptionalId = Annotated[Id | None, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_ID})]


def in_utc(value: datetime) -> datetime:
    """`value` in UTC (a naive one is taken as UTC already), or ValueError when it has no
    UTC equivalent: year 1 at +23:59 is before the first moment Python can hold."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("the date-time has no equivalent in UTC") from error


# A date-time in a JSON body (pydantic), in UTC.
Moment = Annotated[datetime, AfterValidator(in_utc)]


def _bounds(name: str, low: int, high: int) -> str:
    upper = "2^63-1" if high == MAX_ID else str(high)
    return f"{name} is a whole number from {low} to {upper}, in ASCII digits"


def path_id(request: web.Request, name: str) -> int:
    """The id in the URL path, or a 400."""
    value = whole_number(request.match_info[name], low=1)
    if value is None:
        raise InvalidInput(_bounds(name, 1, MAX_ID), field=name)
    return value


def query_int(request: web.Request, name: str, *, low: int = 0, high: int = MAX_ID) -> int | None:
    """The integer query parameter `name`, None when absent or empty, or a 400."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    value = whole_number(raw, low=low, high=high)
    if value is None:
        raise InvalidInput(_bounds(name, low, high), field=name)
    return value


def query_moment(request: web.Request, name: str, default: datetime) -> datetime:
    """The ISO date or date-time query parameter `name` in UTC, `default` when absent, or a 400."""
    raw = request.query.get(name)
    if not raw:
        return default
    try:
        return in_utc(datetime.fromisoformat(raw))
    except ValueError as error:
        raise InvalidInput(f"{name} is an ISO date or date-time, e.g. 2026-11-01", field=name) from error
