"""Escalating breached deadlines to the supervisors (the worker runs this)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage import complaints as repo
from storage.models.base import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Escalation:
    complaint_id: int
    ticket: str
    kind: str
    due_at: datetime


async def escalate_due(
    session: AsyncSession, now: datetime | None = None, limit: int = 100
) -> list[Escalation]:
    """Escalate breached deadlines to the supervisors, each exactly once.

    A complaint has one open alert, its latest breach; alerts of complaints no longer overdue
    (storage.complaints.overdue) are cleared first. Timers are claimed with SKIP LOCKED, so
    concurrent workers on PostgreSQL split the due rows between them and never both escalate
    one; the claim and its effects commit together.
    """
    now = now or utcnow()
    await repo.clear_settled_alerts(session, now)
    escalated: list[Escalation] = []
    for timer in await repo.claim_due_timers(session, now, limit):
        complaint = await repo.get(session, timer.complaint_id)
        still_pending = complaint is not None and (
            (timer.kind == "acknowledge" and complaint.state == "received")
            or (timer.kind == "resolve" and complaint.state not in ("resolved", "closed"))
        )
        if not still_pending or complaint is None:
            await repo.finish_timers(session, timer.complaint_id, [timer.kind], now)
            continue
        what = "acknowledged" if timer.kind == "acknowledge" else "resolved"
        message = f"{complaint.ticket} was not {what} by {timer.due_at.isoformat(timespec='minutes')}"
        await repo.mark_escalated(session, timer, now)
        await repo.add_event(
            session,
            complaint.id,
            at=now,
            kind="escalated",
            actor_kind="system",
            note=message,
        )
        await repo.clear_deadline_alerts(session, complaint.id, now)
        await repo.add_alert(
            session, at=now, kind=repo.DEADLINE_ALERT, message=message, complaint_id=complaint.id
        )
        escalated.append(Escalation(complaint.id, complaint.ticket, timer.kind, timer.due_at))
    await session.commit()
    for item in escalated:
        log.warning("escalated %s: %s deadline breached", item.ticket, item.kind)
    return escalated
