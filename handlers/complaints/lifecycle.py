"""Complaint lifecycle: lodge from any channel, move through the allowed states, deadlines,
escalation, customer notifications, and "until the customer is satisfied"."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Concatenate, ParamSpec

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import notify
from handlers.calendar import DeadlineRules, WorkCalendar
from handlers.defaults import COMPLAINT_CATEGORIES
from handlers.errors import Conflict, Forbidden, InvalidInput, NotFound
from handlers.roles import MANAGERS, STAFF
from storage import complaints as repo
from storage import customers as customers_repo
from storage.audit import Actor, audit, audit_each_customer
from storage.complaints import ComplaintDetail, ComplaintView
from storage.models.base import utcnow
from storage.users import UserRecord

log = logging.getLogger(__name__)
P = ParamSpec("P")

SEVERITIES = ("standard", "urgent")
CHANNELS = ("telegram", "phone", "rasa", "api", "console")
STATES = ("received", "acknowledged", "investigating", "resolved", "reopened", "closed")

# (from, to) → roles that may make the move. The customer makes two more moves, through
# `customer_satisfied`: resolved → closed (yes) and resolved → reopened (no).
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("received", "acknowledged"): STAFF,
    ("acknowledged", "investigating"): STAFF,
    ("investigating", "resolved"): STAFF,
    ("resolved", "closed"): MANAGERS,
    ("resolved", "reopened"): MANAGERS,
    ("reopened", "investigating"): STAFF,
}
CUSTOMER_TRANSITIONS = {True: ("resolved", "closed"), False: ("resolved", "reopened")}

DEPARTMENTS = {
    "network": "network operations",
    "billing": "billing",
    "service": "customer service",
    "product": "product management",
    "other": "customer service",
}


@dataclass(frozen=True)
class ComplaintPolicy:
    categories: tuple[str, ...] = COMPLAINT_CATEGORIES
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    deadlines: DeadlineRules = field(default_factory=DeadlineRules)
    csat_after_close: bool = True


def allowed_moves(state: str, role: str) -> list[str]:
    return [to for (frm, to), roles in TRANSITIONS.items() if frm == state and role in roles]


async def _notify(session: AsyncSession, complaint: ComplaintView, now: datetime) -> None:
    if not complaint.verified:
        # Whoever lodged it may not be the customer: news of it would go to someone who
        # never complained, and would confirm to a stranger that the number is ours.
        return
    kind = "satisfaction_question" if complaint.state == "resolved" else "complaint_update"
    status = await notify.enqueue(
        session,
        complaint.customer_id,
        kind=kind,
        template=f"complaint_{complaint.state}",
        payload={
            "complaint_id": complaint.id,
            "ticket": complaint.ticket,
            "state": complaint.state,
            "resolution": complaint.resolution or "",
            "resolve_due": complaint.resolve_due_at.date().isoformat() if complaint.resolve_due_at else "",
        },
        dedupe_key=f"complaint:{complaint.id}:{complaint.state}:{complaint.reopen_count}",
    )
    if status == "unreachable":
        await repo.add_event(
            session,
            complaint.id,
            at=now,
            kind="notification",
            actor_kind="system",
            note="customer has no reachable channel; message recorded, not sent",
        )


# Control characters other than line breaks and tabs: PostgreSQL refuses NUL in text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def checked_description(
    policy: ComplaintPolicy, *, category: str, severity: str, channel: str, text: str
) -> str:
    """The description as stored, or InvalidInput naming what is wrong with the complaint."""
    if category not in policy.categories:
        raise InvalidInput("unknown complaint category", field="category", allowed=list(policy.categories))
    if severity not in SEVERITIES:
        raise InvalidInput("severity is standard or urgent", field="severity", allowed=list(SEVERITIES))
    if channel not in CHANNELS:
        raise InvalidInput("unknown channel", field="channel", allowed=list(CHANNELS))
    cleaned = _CONTROL.sub("", text or "").strip()
    if not cleaned:
        raise InvalidInput("describe the problem", field="description")
    if len(cleaned) > 4000:
        raise InvalidInput("the description is longer than 4000 characters", field="description")
    return cleaned


async def record(
    session: AsyncSession,
    *,
    customer_id: int,
    category: str,
    description: str,
    channel: str,
    severity: str = "standard",
    attachments: Sequence[str] = (),
    actor: UserRecord | None = None,
    now: datetime | None = None,
    policy: ComplaintPolicy,
    verified: bool = True,
    claimed_phone: str | None = None,
) -> ComplaintView:
    """A new complaint, its deadlines, timers and notifications, in the caller's transaction
    (`lodge` commits it; a flow that lodges as one step of a larger write commits it itself).
    `verified=False` for a sender no channel vouched for: stored with the number they
    claimed, marked for agents to verify, and the customer is told nothing.
    `policy` is the operator's configured rules (categories, calendar): every channel passes
    the one the composition root built, so deadlines agree whichever door a complaint came in."""
    now = now or utcnow()
    text = checked_description(
        policy, category=category, severity=severity, channel=channel, text=description
    )
    customer = await customers_repo.get(session, customer_id, details=False)
    if customer is None:
        raise NotFound("no such customer", customer_id=customer_id)
    if customer.merged_into_id is not None:
        customer_id = customer.merged_into_id
    acknowledge_due = policy.deadlines.acknowledge_by(policy.calendar, now)
    resolve_due = policy.deadlines.resolve_by(policy.calendar, now, severity)
    complaint = await repo.insert(
        session,
        created_at=now,
        customer_id=customer_id,
        category=category,
        severity=severity,
        state="received",
        description=text,
        channel=channel,
        department=DEPARTMENTS.get(category, "customer service"),
        attachments=[{"ref": ref} for ref in attachments],
        created_by_id=actor.id if actor else None,
        acknowledge_due_at=acknowledge_due,
        resolve_due_at=resolve_due,
        verified=verified,
        claimed_phone=claimed_phone,
    )
    await repo.add_event(
        session,
        complaint.id,
        at=now,
        kind="created",
        actor_kind="user" if actor else "customer",
        actor_id=actor.id if actor else None,
        to_state="received",
        note=f"lodged via {channel}" if verified else f"lodged via {channel}; sender not verified",
    )
    await repo.add_timer(session, complaint.id, "acknowledge", acknowledge_due)
    await repo.add_timer(session, complaint.id, "resolve", resolve_due)
    await _notify(session, complaint, now)
    return complaint


def _committed(
    write: Callable[Concatenate[AsyncSession, P], Awaitable[ComplaintView]],
) -> Callable[Concatenate[AsyncSession, P], Awaitable[ComplaintView]]:
    async def committed(session: AsyncSession, /, *args: P.args, **kwargs: P.kwargs) -> ComplaintView:
        complaint = await write(session, *args, **kwargs)
        await session.commit()
        log.info(
            "complaint %s lodged via %s for customer %s",
            complaint.ticket,
            complaint.channel,
            complaint.customer_id,
        )
        return complaint

    committed.__doc__ = "`record`, committed: a complaint lodged on its own."
    return committed


# Every channel lodges through this; `record` is for a flow whose last step it is.
lodge = _committed(record)


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


async def _move(
    session: AsyncSession,
    complaint: ComplaintView,
    to_state: str,
    *,
    now: datetime,
    actor: UserRecord | None,
    note: str | None,
    resolution: str | None = None,
    compensation: str | None = None,
    policy: ComplaintPolicy,
) -> ComplaintView:
    fields: dict[str, object] = {"state": to_state}
    if to_state == "acknowledged":
        fields["acknowledged_at"] = now
        await repo.finish_timers(session, complaint.id, ["acknowledge"], now)
    elif to_state == "resolved":
        fields.update(resolved_at=now, resolution=resolution)
        if compensation:
            fields["compensation"] = compensation
        await repo.finish_timers(session, complaint.id, ["acknowledge", "resolve"], now)
    elif to_state == "closed":
        fields["closed_at"] = now
    elif to_state == "reopened":
        # A reopened complaint is owed a fresh answer, on the same rules as a new one.
        resolve_due = policy.deadlines.resolve_by(policy.calendar, now, complaint.severity)
        fields.update(reopen_count=complaint.reopen_count + 1, resolve_due_at=resolve_due, resolved_at=None)
        await repo.add_timer(session, complaint.id, "resolve", resolve_due)
    updated = await repo.update_fields(session, complaint.id, **fields)
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
    await _notify(session, updated, now)
    if to_state == "closed" and policy.csat_after_close and updated.verified:
        from handlers.surveys import queue_survey  # surveys import complaints' views

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
    now: datetime | None = None,
    policy: ComplaintPolicy,
) -> ComplaintView:
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
    if to_state == "resolved" and not (resolution or "").strip():
        raise InvalidInput("resolving needs a resolution text", field="resolution")
    updated = await _move(
        session,
        complaint,
        to_state,
        now=now,
        actor=actor,
        note=note,
        resolution=(resolution or "").strip() or None,
        compensation=compensation,
        policy=policy,
    )
    await session.commit()
    return updated


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
    updated = await _move(
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

    Timers are claimed with SKIP LOCKED, so concurrent workers on PostgreSQL split the due
    rows between them and never both escalate one; the claim and its effects commit together.
    """
    now = now or utcnow()
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
        await repo.mark_escalated(session, timer.id, now)
        await repo.add_event(
            session,
            complaint.id,
            at=now,
            kind="escalated",
            actor_kind="system",
            note=message,
        )
        await repo.add_alert(
            session, at=now, kind="deadline_breach", message=message, complaint_id=complaint.id
        )
        escalated.append(Escalation(complaint.id, complaint.ticket, timer.kind, timer.due_at))
    await session.commit()
    for item in escalated:
        log.warning("escalated %s: %s deadline breached", item.ticket, item.kind)
    return escalated
