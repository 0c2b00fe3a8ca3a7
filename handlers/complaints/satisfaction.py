"""The customer's answer to "are you satisfied?" on a resolved complaint: yes closes it,
no reopens it with a fresh deadline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.complaints.lifecycle import apply_move
from handlers.complaints.policy import ComplaintPolicy
from handlers.errors import Conflict, NotFound
from storage import complaints as repo
from storage.complaints import ComplaintView
from storage.models.base import utcnow

# satisfied → (the state the complaint must be in, the state it moves to)
CUSTOMER_TRANSITIONS = {True: ("resolved", "closed"), False: ("resolved", "reopened")}


async def customer_satisfied(
    session: AsyncSession,
    customer_id: int,
    complaint_id: int,
    satisfied: bool,
    *,
    now: datetime | None = None,
    policy: ComplaintPolicy,
) -> ComplaintView:
    """The customer's answer to "are you satisfied?": yes closes, no reopens."""
    now = now or utcnow()
    complaint = await repo.get(session, complaint_id, lock=True)
    if complaint is None or complaint.customer_id != customer_id:
        raise NotFound("no such complaint", complaint_id=complaint_id)
    expected, to_state = CUSTOMER_TRANSITIONS[satisfied]
    if complaint.state != expected:
        raise Conflict(
            "this complaint is not waiting for your answer",
            state=complaint.state,
            error_id="not-awaiting-answer",
        )
    updated = await apply_move(
        session,
        complaint,
        to_state,
        now=now,
        actor=None,
        note="customer satisfied" if satisfied else "customer not satisfied",
        policy=policy,
    )
    await session.commit()
    return updated
