"""Reading complaints: one with its trail, a customer's, a supervisor's list, and a
customer asking after their own; each read of a customer's data is audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import NotFound
from storage import complaints as repo
from storage import escalations
from storage.audit import Actor, audit, audit_each_customer
from storage.complaints import ComplaintDetail, ComplaintView
from storage.escalations import QueueItem


@dataclass(frozen=True)
class EscalationsQueue:
    # First: a customer waits for news of these until a supervisor decides.
    waiting_approval: list[QueueItem]
    escalated: list[QueueItem]

    @property
    def items(self) -> list[QueueItem]:
        return [*self.waiting_approval, *self.escalated]


async def get(session: AsyncSession, complaint_id: int) -> ComplaintDetail:
    complaint = await repo.get(session, complaint_id)
    if complaint is None:
        raise NotFound("no such complaint", complaint_id=complaint_id)
    return ComplaintDetail(complaint, await repo.events(session, complaint_id))


async def list_for_customer(session: AsyncSession, customer_id: int) -> list[ComplaintView]:
    return await repo.search(session, customer_id=customer_id)


async def search(
    session: AsyncSession,
    reader: Actor,
    *,
    customer_id: int | None,
    states: Sequence[str],
    overdue_at: datetime | None,
    limit: int,
    offset: int,
) -> list[ComplaintView]:
    """Complaints for a list; each customer shown gets an audit entry naming their complaints."""
    found = await repo.search(
        session, customer_id=customer_id, states=states, overdue_at=overdue_at, limit=limit, offset=offset
    )
    await audit_each_customer(
        session,
        actor=reader,
        action="complaint.list",
        shown=[(c.customer_id, c.id) for c in found],
        key="complaints",
    )
    await session.commit()
    return found


async def read(session: AsyncSession, reader: Actor, complaint_id: int) -> ComplaintDetail:
    """One complaint with its trail, audited as a read of its customer's data."""
    detail = await get(session, complaint_id)
    await audit(
        session,
        actor=reader,
        action="complaint.read",
        customer_id=detail.complaint.customer_id,
        subject_type="complaint",
        subject_id=complaint_id,
        details={"ticket": detail.complaint.ticket},
    )
    await session.commit()
    return detail


async def status(session: AsyncSession, customer: Actor, customer_id: int) -> list[ComplaintView]:
    """A customer asks after their own complaints (Telegram /status): audited, the customer
    being the actor, since whoever holds the chat reads the record."""
    found = await repo.search(session, customer_id=customer_id)
    await audit(
        session,
        actor=customer,
        action="complaint.status",
        customer_id=customer_id,
        subject_type="customer",
        subject_id=customer_id,
        details={"complaints": [c.id for c in found]},
    )
    await session.commit()
    return found


async def escalations_queue(session: AsyncSession, reader: Actor, *, limit: int) -> EscalationsQueue:
    """The supervisors' queue, each part oldest first; each customer shown gets an audit entry
    naming their complaints."""
    found = EscalationsQueue(
        waiting_approval=await escalations.waiting_approval(session, limit),
        escalated=await escalations.escalated(session, limit),
    )
    await audit_each_customer(
        session,
        actor=reader,
        action="complaint.escalations",
        shown=[(item.complaint.customer_id, item.complaint.id) for item in found.items],
        key="complaints",
    )
    await session.commit()
    return found
