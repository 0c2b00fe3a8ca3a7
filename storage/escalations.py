"""The supervisors' escalations queue: resolutions waiting for a compensation approval and
complaints that breached a deadline since they were last resolved, with whose they are, each
oldest first and each read by walking its own index in order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.complaints import ComplaintView, complaint_view
from storage.models import Complaint, Customer


@dataclass(frozen=True)
class QueueItem:
    complaint: ComplaintView
    customer_name: str
    tier: str


async def _oldest(
    session: AsyncSession,
    moment: InstrumentedAttribute[datetime | None],
    limit: int,
    *also: ColumnElement[bool],
) -> list[QueueItem]:
    query = (
        select(Complaint, Customer.name, Customer.tier)
        .join(Customer, Customer.id == Complaint.customer_id)
        .where(moment.is_not(None), *also)
        .order_by(moment)
        .limit(limit)
    )
    return [
        QueueItem(complaint_view(row), name, tier) for row, name, tier in (await session.execute(query)).all()
    ]


async def waiting_approval(session: AsyncSession, limit: int) -> list[QueueItem]:
    """Resolutions waiting for a supervisor, the longest-waiting first."""
    return await _oldest(session, Complaint.approval_requested_at, limit)


async def escalated(session: AsyncSession, limit: int) -> list[QueueItem]:
    """Complaints that breached a deadline since they were last resolved, the first breach
    first; one waiting for approval is listed there instead."""
    return await _oldest(session, Complaint.escalated_at, limit, Complaint.approval_requested_at.is_(None))


async def counts(session: AsyncSession) -> tuple[int, int]:
    """How many wait for approval, and how many others breached a deadline (each counted
    from its own index)."""
    waiting = select(func.count()).select_from(Complaint).where(Complaint.approval_requested_at.is_not(None))
    breached = (
        select(func.count())
        .select_from(Complaint)
        .where(Complaint.escalated_at.is_not(None), Complaint.approval_requested_at.is_(None))
    )
    return int((await session.execute(waiting)).scalar_one()), int(
        (await session.execute(breached)).scalar_one()
    )
