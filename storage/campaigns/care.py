"""A care run's audience as SQL: whose birthday or anniversary is the run's day, the
greetings given (one per customer, occasion and year), and each target's window, the day in
the customer's own time zone.

Birthdays and the `customer_since` attribute are read as imported (strings in the customer's
attributes) and matched by month and day in SQL on both engines. Accepted spellings:
`1985-03-14`, `1985/03/14`, `1985.03.14`, `19850314`, `1985年03月14日`, and `03-14` (a
birthday without its year); months and days with two digits. Anything else greets nobody."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, String, and_, case, func, literal, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.campaign_audience import Audience, conditions
from storage.db import dialect_insert
from storage.models import CareGreeting, Customer
from storage.models.base import UTCDateTime


@dataclass(frozen=True)
class CareDay:
    """What a care run greets on its day."""

    day: date
    birthday: bool
    anniversary: bool
    holiday: str | None  # the occasion key (holiday:<key>) when the day is a holiday greeted
    default_timezone: str


def month_days(day: date) -> list[str]:
    """The "MM-DD" greeted on `day`: a 29 February birthday is greeted on the 28th in other years."""
    found = [day.strftime("%m-%d")]
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        found.append("02-29")
    return found


def _spelled(attribute: str) -> ColumnElement[Any]:
    value: ColumnElement[Any] = Customer.attributes[attribute].as_string()
    for mark in ("/", ".", "年", "月"):
        value = func.replace(value, mark, "-")
    return func.replace(func.trim(value), "日", "")


def _since(dialect: str) -> ColumnElement[Any]:
    """The day someone became a customer: the imported `customer_since`, else the day their
    record was created (UTC), both as text."""
    created = (
        func.to_char(func.timezone("UTC", Customer.created_at), "YYYY-MM-DD")
        if dialect == "postgresql"
        else func.substr(Customer.created_at, 1, 10)
    )
    return func.coalesce(_spelled("customer_since"), created)


def _month_day(value: ColumnElement[Any]) -> ColumnElement[Any]:
    length = func.length(value)
    return case(
        (length == 10, func.substr(value, 6, 5)),
        (length == 8, func.substr(value, 5, 2, type_=String) + "-" + func.substr(value, 7, 2, type_=String)),
        (length == 5, value),
        else_=null(),
    )


def _year(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((func.length(value).in_((8, 10)), func.substr(value, 1, 4)), else_=null())


def occasion(care: CareDay, dialect: str) -> ColumnElement[Any]:
    """Each customer's occasion on the day, the first that applies: their birthday, their
    anniversary as a customer (a year or more), the holiday; NULL for nobody to greet."""
    days = month_days(care.day)
    whens: list[tuple[ColumnElement[bool], Any]] = []
    if care.birthday:
        whens.append((_month_day(_spelled("birthday")).in_(days), "birthday"))
    if care.anniversary:
        since = _since(dialect)
        whens.append((and_(_month_day(since).in_(days), _year(since) < str(care.day.year)), "anniversary"))
    if not whens:
        return literal(care.holiday)
    return case(*whens, else_=literal(care.holiday))


async def write_greetings(
    session: AsyncSession,
    campaign_id: int,
    care: CareDay,
    audience: Audience,
    *,
    kind: str,
    after: int,
    upto: int,
    now: datetime,
) -> int:
    """Claim this year's greeting for the batch's customers who have an occasion today: one
    `INSERT … SELECT … ON CONFLICT DO NOTHING`. A customer already greeted for it this year
    (by another run, campaign or worker) keeps the first row, and this run leaves them out."""
    dialect = session.get_bind().dialect.name
    found = (
        select(Customer.id.label("customer_id"), occasion(care, dialect).label("occasion"))
        .where(Customer.id > after, Customer.id <= upto, *conditions(audience, kind=kind, now=now))
        .subquery()
    )
    statement = (
        dialect_insert(session)(CareGreeting)
        .from_select(
            ["customer_id", "occasion", "year", "campaign_id", "created_at"],
            select(
                found.c.customer_id,
                found.c.occasion,
                literal(care.day.year),
                literal(campaign_id),
                literal(now, UTCDateTime()),
            ).where(found.c.occasion.is_not(None)),
        )
        .on_conflict_do_nothing(index_elements=["customer_id", "occasion", "year"])
    )
    return int((await session.execute(statement)).rowcount)  # type: ignore[attr-defined]


def _midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time.min, ZoneInfo(zone)).astimezone(UTC)


async def day_windows(
    session: AsyncSession, care: CareDay, *, after: int, upto: int
) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """The start and end of the day in each customer's zone, as two SQL expressions over the
    batch's zones (an unknown zone counts as the operator's, as expansion writes it)."""
    zone = func.coalesce(Customer.timezone, care.default_timezone)
    names = (
        await session.execute(select(zone).where(Customer.id > after, Customer.id <= upto).distinct())
    ).scalars()
    starts: list[tuple[ColumnElement[bool], Any]] = []
    ends: list[tuple[ColumnElement[bool], Any]] = []
    for name in names:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        starts.append((zone == name, literal(_midnight(care.day, name), UTCDateTime())))
        ends.append((zone == name, literal(_midnight(care.day + timedelta(days=1), name), UTCDateTime())))
    start = literal(_midnight(care.day, care.default_timezone), UTCDateTime())
    end = literal(_midnight(care.day + timedelta(days=1), care.default_timezone), UTCDateTime())
    if not starts:
        return start, end
    return case(*starts, else_=start), case(*ends, else_=end)
