"""A complaint's lifecycle: the states, which role may make which move, and making a move
with what it records (timestamps, deadlines, the trail, the customer's message, the CSAT
survey after closing)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.complaints.notifications import tell_customer
from handlers.complaints.policy import ComplaintPolicy
from handlers.errors import Conflict, Forbidden, InvalidInput, NotFound
from handlers.roles import MANAGERS, STAFF
from handlers.surveys import queue_survey
from storage import complaints as repo
from storage.complaints import ApprovalRequest, ComplaintView
from storage.models.base import utcnow
from storage.users import UserRecord

CENT = Decimal("0.01")
STATES = ("received", "acknowledged", "investigating", "resolved", "reopened", "closed")

# (from, to) → roles that may make the move. The customer makes two more moves, through
# `customer_satisfied` (satisfaction.py): resolved → closed (yes) and resolved → reopened (no).
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("received", "acknowledged"): STAFF,
    ("acknowledged", "investigating"): STAFF,
    ("investigating", "resolved"): STAFF,
    ("resolved", "closed"): MANAGERS,
    ("resolved", "reopened"): MANAGERS,
    ("reopened", "investigating"): STAFF,
}


def allowed_moves(state: str, role: str) -> list[str]:
    return [to for (frm, to), roles in TRANSITIONS.items() if frm == state and role in roles]


def moves_for(complaint: ComplaintView, role: str) -> list[str]:
    """The moves to offer on this complaint: none while its resolution waits for approval."""
    return [] if complaint.approval is not None else allowed_moves(complaint.state, role)


async def _write_state(
    session: AsyncSession,
    complaint: ComplaintView,
    to_state: str,
    *,
    now: datetime,
    resolution: str | None,
    compensation: str | None,
    compensation_amount: Decimal | None,
    policy: ComplaintPolicy,
) -> ComplaintView:
    """The new state, what it records and the deadline timers it stops or starts."""
    if to_state == "acknowledged":
        await repo.finish_timers(session, complaint.id, ["acknowledge"], now)
        return await repo.mark_acknowledged(session, complaint.id, at=now)
    if to_state == "resolved":
        await repo.finish_timers(session, complaint.id, ["acknowledge", "resolve"], now)
        return await repo.mark_resolved(
            session,
            complaint.id,
            at=now,
            resolution=resolution,
            compensation=compensation or None,
            compensation_amount=compensation_amount,
        )
    if to_state == "closed":
        return await repo.mark_closed(session, complaint.id, at=now)
    if to_state == "reopened":
        # A reopened complaint is owed a fresh answer, on the same rules as a new one.
        resolve_due = policy.deadlines.resolve_by(policy.calendar, now, complaint.severity)
        await repo.add_timer(session, complaint.id, "resolve", resolve_due)
        return await repo.mark_reopened(
            session, complaint.id, reopen_count=complaint.reopen_count + 1, resolve_due_at=resolve_due
        )
    return await repo.set_state(session, complaint.id, to_state)


async def apply_move(
    session: AsyncSession,
    complaint: ComplaintView,
    to_state: str,
    *,
    now: datetime,
    actor: UserRecord | None,
    note: str | None,
    resolution: str | None = None,
    compensation: str | None = None,
    compensation_amount: Decimal | None = None,
    policy: ComplaintPolicy,
) -> ComplaintView:
    """Make a move already allowed, in the caller's transaction; `actor=None` is the customer."""
    updated = await _write_state(
        session,
        complaint,
        to_state,
        now=now,
        resolution=resolution,
        compensation=compensation,
        compensation_amount=compensation_amount,
        policy=policy,
    )
    await repo.add_event(
        session,
        complaint.id,
        at=now,
        kind="transition",
        actor_kind="user" if actor else "customer",
        actor_id=actor.id if actor else None,
        from_state=complaint.state,
        to_state=to_state,
        note=note,
    )
    await tell_customer(session, updated, now)
    if to_state == "closed" and policy.csat_after_close and updated.verified:
        await queue_survey(
            session,
            customer_id=updated.customer_id,
            kind="csat",
            trigger="complaint",
            channel=updated.channel,
            complaint_id=updated.id,
            now=now,
        )
    return updated


async def transition(
    session: AsyncSession,
    actor: UserRecord,
    complaint_id: int,
    to_state: str,
    *,
    note: str | None = None,
    resolution: str | None = None,
    compensation: str | None = None,
    compensation_amount: Decimal | None = None,
    now: datetime | None = None,
    policy: ComplaintPolicy,
) -> ComplaintView:
    """A member of staff moves a complaint, if their role may make that move. An agent's
    resolution whose compensation is above the operator's limit is not made: it waits for
    a supervisor's approval (approval.py), and the customer is told nothing yet."""
    now = now or utcnow()
    if to_state not in STATES:
        raise InvalidInput("unknown state", field="state", allowed=list(STATES))
    complaint = await repo.get(session, complaint_id, lock=True)
    if complaint is None:
        raise NotFound("no such complaint", complaint_id=complaint_id)
    roles = TRANSITIONS.get((complaint.state, to_state))
    if roles is None:
        raise Conflict(
            f"a {complaint.state} complaint cannot become {to_state}",
            state=complaint.state,
            allowed=allowed_moves(complaint.state, actor.role),
        )
    if actor.role not in roles:
        raise Forbidden(f"your role may not move a complaint from {complaint.state} to {to_state}")
    if complaint.approval is not None:
        raise Conflict(
            "this complaint's resolution waits for a supervisor's approval", error_id="awaiting-approval"
        )
    if to_state == "resolved" and not (resolution or "").strip():
        raise InvalidInput("resolving needs a resolution text", field="resolution")
    if compensation_amount is not None:
        if not compensation_amount.is_finite() or compensation_amount < 0:
            raise InvalidInput(
                "a compensation amount is a sum of money, not negative", field="compensation_amount"
            )
        # Cents, as the column keeps them: what the message states is what was stored.
        compensation_amount = compensation_amount.quantize(CENT)
    resolution = (resolution or "").strip() or None
    compensation = (compensation or "").strip() or None
    # Supervisors and admins are the management whose approval the operator's rule asks for.
    asks_approval = to_state == "resolved" and actor.role not in MANAGERS
    if (
        asks_approval
        and resolution
        and compensation_amount is not None
        and policy.needs_approval(compensation_amount)
    ):
        updated = await _ask_approval(
            session, complaint, actor, now, resolution, compensation, compensation_amount, note
        )
    else:
        updated = await apply_move(
            session,
            complaint,
            to_state,
            now=now,
            actor=actor,
            note=note,
            resolution=resolution,
            compensation=compensation,
            compensation_amount=compensation_amount,
            policy=policy,
        )
    await session.commit()
    return updated


async def _ask_approval(
    session: AsyncSession,
    complaint: ComplaintView,
    actor: UserRecord,
    now: datetime,
    resolution: str,
    compensation: str | None,
    amount: Decimal,
    note: str | None,
) -> ComplaintView:
    """Record the proposed resolution as waiting: no new state, no message to the customer,
    and the resolve deadline keeps running (the customer still waits for an answer)."""
    updated = await repo.request_approval(
        session,
        complaint.id,
        ApprovalRequest(
            requested_at=now,
            requested_by_id=actor.id,
            requested_by=actor.name or actor.login,
            resolution=resolution,
            compensation=compensation,
            amount=amount,
        ),
    )
    await repo.add_event(
        session,
        complaint.id,
        at=now,
        kind="approval_requested",
        actor_kind="user",
        actor_id=actor.id,
        note=note or f"compensation {amount} waits for a supervisor's approval",
    )
    return updated
