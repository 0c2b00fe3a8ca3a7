"""The supervisors' escalations queue: complaints that breached a deadline since they were
last resolved and resolutions waiting for a compensation approval, with whose they are,
oldest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.complaints import ComplaintView, complaint_view
from storage.models import Complaint, Customer


@dataclass(frozen=True)
class QueueItem:
    complaint: ComplaintView
    customer_name: str
    tier: str

    @property
    def since(self) -> datetime:
        """How long it has waited for a supervisor: from the breach or the request, whichever came first."""
        approval = self.complaint.approval
        moments = [m for m in (self.complaint.escalated_at, approval.requested_at if approval else None) if m]
        return min(moments) if moments else self.complaint.created_at


async def _oldest(
    session: AsyncSession, moment: InstrumentedAttribute[datetime | None], limit: int
) -> list[QueueItem]:
    query = (
        select(Complaint, Customer.name, Customer.tier)
        .join(Customer, Customer.id == Complaint.customer_id)
        .where(moment.is_not(None))
        .order_by(moment)
        .limit(limit)
    )
    return [
        QueueItem(complaint_view(row), name, tier) for row, name, tier in (await session.execute(query)).all()
    ]


async def queue(session: AsyncSession, limit: int) -> list[QueueItem]:
    """The oldest `limit` items: each half walks its own index in order, and the two are
    merged here (an OR across both columns would sort every match)."""
    items = {
        item.complaint.id: item
        for half in (Complaint.escalated_at, Complaint.approval_requested_at)
        for item in await _oldest(session, half, limit)
    }
    return sorted(items.values(), key=lambda item: item.since)[:limit]
