"""Reading the audit trail: supervisors and admins ask who read or changed a customer's data."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import Forbidden, InvalidInput
from handlers.inputs import MAX_ID, whole_number
from handlers.roles import MANAGERS
from storage import audit as repo
from storage.audit import AuditQuery, AuditRecord
from storage.users import UserRecord

READERS = MANAGERS
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
ACTOR_LENGTH = 128  # the column's size


def _whole(raw: str, name: str, low: int, high: int) -> int:
    value = whole_number(raw, low=low, high=high)
    if value is None:
        raise InvalidInput(f"{name} is a whole number from {low} to {high}", field=name)
    return value


def _moment(raw: str, naive_zone: tzinfo) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
        if value.tzinfo is None:
            value = value.replace(tzinfo=naive_zone)
        return value.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise InvalidInput(
            "since is an ISO date-time, e.g. 2026-11-01T09:00:00+08:00", field="since"
        ) from error


def parse_query(
    *, customer_id: str | None, actor: str | None, since: str | None, limit: str | None, naive_zone: tzinfo
) -> AuditQuery:
    """The filters as typed in a URL or a form; an empty value is no filter. A `since`
    without an offset is read in `naive_zone`."""
    wanted = (actor or "").strip()
    # No actor name holds a control character, and PostgreSQL refuses NUL in text outright.
    if len(wanted) > ACTOR_LENGTH or not wanted.isprintable():
        raise InvalidInput(f"actor is at most {ACTOR_LENGTH} printable characters", field="actor")
    return AuditQuery(
        customer_id=_whole(customer_id, "customer_id", 1, MAX_ID) if customer_id else None,
        actor=wanted or None,
        since=_moment(since, naive_zone) if since else None,
        limit=_whole(limit, "limit", 1, MAX_LIMIT) if limit else DEFAULT_LIMIT,
    )


async def read_trail(session: AsyncSession, reader: UserRecord, query: AuditQuery) -> list[AuditRecord]:
    if reader.role not in READERS:
        raise Forbidden("only supervisors and admins read the audit trail")
    return await repo.search(session, query)
