"""A supervisor acknowledges an alert: it is cleared (when) by them (who), and so leaves every
open list (the wallboard, the satisfaction page, `GET /api/v1/alerts`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import Conflict, Forbidden, NotFound
from handlers.roles import MANAGERS
from storage import alerts
from storage.alerts import AlertRecord
from storage.users import UserRecord


async def acknowledge(session: AsyncSession, user: UserRecord, alert_id: int, now: datetime) -> AlertRecord:
    if user.role not in MANAGERS:
        raise Forbidden("only a supervisor acknowledges an alert")
    done = await alerts.acknowledge(session, alert_id, user.id, now)
    await session.commit()
    found = await alerts.get(session, alert_id)
    if found is None:
        raise NotFound("no such alert", alert_id=alert_id)
    if not done:
        raise Conflict(
            "This alert was already acknowledged.",
            error_id="already-acknowledged",
            acknowledged_by=found.acknowledged_by,
            cleared_at=found.cleared_at.isoformat() if found.cleared_at else None,
        )
    return found
