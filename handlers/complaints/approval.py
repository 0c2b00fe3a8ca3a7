"""A supervisor's decision on a compensation above the operator's limit (the operator's rule:
results are approved by management). Approving makes the waiting resolution and tells the
customer, compensation included; rejecting sends it back to the agent with the reason.
Either is audited and written into the complaint's timeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.complaints.lifecycle import apply_move
from handlers.complaints.policy import ComplaintPolicy
from handlers.errors import Conflict, Forbidden, InvalidInput, NotFound
from handlers.roles import MANAGERS
from storage import complaints as repo
from storage.audit import Actor, audit
from storage.complaints import ComplaintView
from storage.models.base import utcnow
from storage.users import UserRecord

DECISIONS = ("approve", "reject")
REASON_LENGTH = 2000


async def decide(
    session: AsyncSession,
    actor: UserRecord,
    via: str,
    complaint_id: int,
    decision: str,
    *,
    reason: str | None = None,
    policy: ComplaintPolicy,
    now: datetime | None = None,
) -> ComplaintView:
    """Approve or reject the resolution waiting on a complaint; `via` names the door for the
    audit trail (api, console)."""
    now = now or utcnow()
    if actor.role not in MANAGERS:
        raise Forbidden("only supervisors and admins approve compensation")
    if decision not in DECISIONS:
        raise InvalidInput("decision is approve or reject", field="decision", allowed=list(DECISIONS))
    reason = (reason or "").strip()
    if len(reason) > REASON_LENGTH:
        raise InvalidInput("a reason is at most 2000 characters", field="reason", limit=REASON_LENGTH)
    if decision == "reject" and not reason:
        raise InvalidInput("rejecting needs a reason for the agent", field="reason")
    complaint = await repo.get(session, complaint_id, lock=True)
    if complaint is None:
        raise NotFound("no such complaint", complaint_id=complaint_id)
    request = complaint.approval
    if request is None:
        raise Conflict("nothing on this complaint waits for approval", error_id="nothing-awaits-approval")
    cleared = await repo.clear_approval(session, complaint.id)
    who = f"{request.amount} proposed by {request.requested_by}"
    await repo.add_event(
        session,
        complaint.id,
        at=now,
        kind="approval_granted" if decision == "approve" else "approval_rejected",
        actor_kind="user",
        actor_id=actor.id,
        note=f"compensation {who}" + (f": {reason}" if reason else ""),
    )
    await audit(
        session,
        actor=Actor.of(actor, via),
        action="complaint.compensation_approved"
        if decision == "approve"
        else "complaint.compensation_rejected",
        customer_id=complaint.customer_id,
        subject_type="complaint",
        subject_id=complaint.id,
        details={
            "ticket": complaint.ticket,
            "amount": str(request.amount),
            "proposed_by": request.requested_by,
            **({"reason": reason} if reason else {}),
        },
    )
    updated = cleared
    if decision == "approve":
        updated = await apply_move(
            session,
            cleared,
            "resolved",
            now=now,
            actor=actor,
            note=None,
            resolution=request.resolution,
            compensation=request.compensation,
            compensation_amount=request.amount,
            policy=policy,
        )
    await session.commit()
    return updated
