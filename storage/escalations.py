"""The supervisors' escalations queue: open complaints whose deadline was breached and
resolutions waiting for a compensation approval, with whose they are, oldest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.complaints import OPEN_STATES, ComplaintView, complaint_view
from storage.models import Complaint, Customer
from storage.models.surveys import ComplaintTimer


@dataclass(frozen=True)
class QueueItem:
    complaint: ComplaintView
    customer_name: str
    tier: str
    # The first deadline this complaint breached, when it breached one.
    breached_at: datetime | None

    @property
    def since(self) -> datetime:
        """How long it has waited for a supervisor: from the breach or the request, whichever came first."""
        approval = self.complaint.approval
        moments = [m for m in (self.breached_at, approval.requested_at if approval else None) if m]
        return min(moments) if moments else self.complaint.created_at


async def queue(session: AsyncSession, limit: int) -> list[QueueItem]:
    """The oldest `limit` items. Two small indexed reads (waiting approvals, escalated open
    complaints) merged here, rather than one OR across two tables that no index serves."""
    waiting = (
        select(Complaint, Customer.name, Customer.tier)
        .join(Customer, Customer.id == Complaint.customer_id)
        .where(Complaint.approval_requested_at.is_not(None))
        .order_by(Complaint.approval_requested_at)
        .limit(limit)
    )
    breaches = (
        select(ComplaintTimer.complaint_id, func.min(ComplaintTimer.due_at).label("breached_at"))
        .join(Complaint, Complaint.id == ComplaintTimer.complaint_id)
        .where(ComplaintTimer.escalated.is_(True), Complaint.state.in_(OPEN_STATES))
        .group_by(ComplaintTimer.complaint_id)
        .order_by(func.min(ComplaintTimer.due_at))
        .limit(limit)
        .subquery()
    )
    escalated = (
        select(Complaint, Customer.name, Customer.tier, breaches.c.breached_at)
        .join(breaches, breaches.c.complaint_id == Complaint.id)
        .join(Customer, Customer.id == Complaint.customer_id)
    )
    items: dict[int, QueueItem] = {}
    for row, name, tier, breached_at in (await session.execute(escalated)).all():
        items[row.id] = QueueItem(complaint_view(row), name, tier, breached_at)
    for row, name, tier in (await session.execute(waiting)).all():
        known = items.get(row.id)
        items[row.id] = QueueItem(complaint_view(row), name, tier, known.breached_at if known else None)
    return sorted(items.values(), key=lambda item: item.since)[:limit]
