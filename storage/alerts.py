"""Supervisor alerts as the wallboard shows them — the newest open ones with the ticket of
their complaint (storage/complaints.py counts them) — and their acknowledgement, which clears an alert
(it leaves every open list) and keeps who did it. (The escalation worker raises alerts with
its complaint: storage/complaints.py.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Complaint
from storage.models.surveys import Alert
from storage.models.users import User


@dataclass(frozen=True)
class AlertRecord:
    id: int
    at: datetime
    kind: str
    complaint_id: int | None
    ticket: str | None  # its complaint's, for the complaint's page (none: a score alert)
    message: str
    cleared_at: datetime | None
    acknowledged_by: str | None  # the login of the supervisor who acknowledged it


# An alert with its complaint's ticket and the login of who acknowledged it.
_RECORDS = (
    select(Alert, Complaint.ticket, User.login)
    .outerjoin(Complaint, Complaint.id == Alert.complaint_id)
    .outerjoin(User, User.id == Alert.acknowledged_by_id)
)


def _record(row: Alert, ticket: str | None, login: str | None) -> AlertRecord:
    return AlertRecord(row.id, row.at, row.kind, row.complaint_id, ticket, row.message, row.cleared_at, login)


async def newest_open(session: AsyncSession, limit: int) -> list[AlertRecord]:
    query = _RECORDS.where(Alert.cleared_at.is_(None)).order_by(Alert.id.desc()).limit(limit)
    return [_record(row, ticket, login) for row, ticket, login in (await session.execute(query)).all()]


async def get(session: AsyncSession, alert_id: int) -> AlertRecord | None:
    found = (await session.execute(_RECORDS.where(Alert.id == alert_id))).one_or_none()
    if found is None:
        return None
    row, ticket, login = found
    return _record(row, ticket, login)


async def acknowledge(session: AsyncSession, alert_id: int, user_id: int, at: datetime) -> bool:
    """Whether this call acknowledged it (False: unknown, or no longer open — of two
    supervisors pressing at once, one wins)."""
    done = await session.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.cleared_at.is_(None))
        .values(cleared_at=at, acknowledged_by_id=user_id)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]
