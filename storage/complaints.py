"""Complaint repository: complaints, their event trail, deadline timers and alerts."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Complaint, ComplaintEvent
from storage.models.surveys import Alert, ComplaintTimer

OPEN_STATES = ("received", "acknowledged", "investigating", "reopened")
DEADLINE_ALERT = "deadline_breach"


def overdue(now: datetime) -> ColumnElement[bool]:
    """Open and past a deadline it still owes: acknowledging while received, resolving until
    resolved. The escalation worker raises one alert on each such complaint and clears it when
    the complaint stops being overdue, so the satisfaction page's overdue bars and its alerts
    count the same complaints."""
    return and_(
        Complaint.state.in_(OPEN_STATES),
        or_(
            and_(Complaint.state == "received", Complaint.acknowledge_due_at < now),
            Complaint.resolve_due_at < now,
        ),
    )


@dataclass(frozen=True)
class ApprovalRequest:
    """A resolution an agent proposed whose compensation waits for a supervisor."""

    requested_at: datetime
    requested_by_id: int | None
    requested_by: str
    resolution: str
    compensation: str | None
    amount: Decimal


@dataclass(frozen=True)
class ComplaintView:
    id: int
    ticket: str
    customer_id: int
    category: str
    severity: str
    state: str
    description: str
    channel: str
    created_at: datetime
    acknowledge_due_at: datetime | None
    resolve_due_at: datetime | None
    reopen_count: int
    department: str | None = None
    assignee_id: int | None = None
    resolution: str | None = None
    compensation: str | None = None
    compensation_amount: Decimal | None = None
    attachments: tuple[str, ...] = ()
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    # The first deadline breached since it was last resolved.
    escalated_at: datetime | None = None
    # False while nobody has confirmed that the sender owns the number they gave.
    verified: bool = True
    # The number such a sender claimed; `masked` tells the JSON edge to show only its ends.
    claimed_phone: str | None = field(default=None, metadata={"masked": True})
    # Set while a resolution waits for a supervisor's approval; the customer has been told nothing.
    approval: ApprovalRequest | None = None


@dataclass(frozen=True)
class EventView:
    at: datetime
    kind: str
    actor_kind: str
    actor_id: int | None
    from_state: str | None
    to_state: str | None
    note: str | None


@dataclass(frozen=True)
class ComplaintDetail:
    complaint: ComplaintView
    events: tuple[EventView, ...]


@dataclass(frozen=True)
class DueTimer:
    id: int
    complaint_id: int
    kind: str
    due_at: datetime


@dataclass(frozen=True)
class AlertView:
    id: int
    at: datetime
    kind: str
    complaint_id: int | None
    message: str


def _approval(row: Complaint) -> ApprovalRequest | None:
    if row.approval_requested_at is None or row.approval_amount is None:
        return None
    return ApprovalRequest(
        requested_at=row.approval_requested_at,
        requested_by_id=row.approval_requested_by_id,
        requested_by=row.approval_requested_by or "",
        resolution=row.approval_resolution or "",
        compensation=row.approval_compensation,
        amount=row.approval_amount,
    )


def complaint_view(row: Complaint) -> ComplaintView:
    return ComplaintView(
        id=row.id,
        ticket=row.ticket,
        customer_id=row.customer_id,
        category=row.category,
        severity=row.severity,
        state=row.state,
        description=row.description,
        channel=row.channel,
        created_at=row.created_at,
        acknowledge_due_at=row.acknowledge_due_at,
        resolve_due_at=row.resolve_due_at,
        reopen_count=row.reopen_count,
        department=row.department,
        assignee_id=row.assignee_id,
        resolution=row.resolution,
        compensation=row.compensation,
        compensation_amount=row.compensation_amount,
        attachments=tuple(str(a.get("ref", "")) for a in (row.attachments or [])),
        resolved_at=row.resolved_at,
        closed_at=row.closed_at,
        escalated_at=row.escalated_at,
        verified=row.verified,
        claimed_phone=row.claimed_phone,
        approval=_approval(row),
    )


@dataclass(frozen=True)
class NewComplaint:
    """A complaint as lodged: the columns `insert` writes, named so mypy checks them."""

    created_at: datetime
    customer_id: int
    category: str
    severity: str
    state: str
    description: str
    channel: str
    department: str
    acknowledge_due_at: datetime
    resolve_due_at: datetime
    attachments: tuple[str, ...] = ()
    created_by_id: int | None = None
    verified: bool = True
    claimed_phone: str | None = None


async def insert(session: AsyncSession, new: NewComplaint) -> ComplaintView:
    row = Complaint(
        ticket=f"new-{secrets.token_hex(8)}",
        created_at=new.created_at,
        customer_id=new.customer_id,
        category=new.category,
        severity=new.severity,
        state=new.state,
        description=new.description,
        channel=new.channel,
        department=new.department,
        attachments=[{"ref": ref} for ref in new.attachments],
        created_by_id=new.created_by_id,
        acknowledge_due_at=new.acknowledge_due_at,
        resolve_due_at=new.resolve_due_at,
        verified=new.verified,
        claimed_phone=new.claimed_phone,
    )
    session.add(row)
    await session.flush()
    # The ticket a customer quotes comes from the id, so it is unique without a sequence table.
    row.ticket = f"CD-{new.created_at.year}-{row.id:06d}"
    await session.flush()
    return complaint_view(row)


async def get(session: AsyncSession, complaint_id: int, *, lock: bool = False) -> ComplaintView | None:
    query = select(Complaint).where(Complaint.id == complaint_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    return None if row is None else complaint_view(row)


async def get_by_ticket(session: AsyncSession, ticket: str) -> ComplaintView | None:
    row = (await session.execute(select(Complaint).where(Complaint.ticket == ticket))).scalar_one_or_none()
    return None if row is None else complaint_view(row)


# One write per move a complaint makes, each naming the columns it sets, so the lifecycle
# (handlers/complaints/lifecycle.py) cannot set a column that does not exist.


async def _row(session: AsyncSession, complaint_id: int) -> Complaint:
    row = await session.get(Complaint, complaint_id)
    if row is None:
        raise LookupError(complaint_id)
    return row


async def _flushed(session: AsyncSession, row: Complaint) -> ComplaintView:
    await session.flush()
    return complaint_view(row)


async def set_state(session: AsyncSession, complaint_id: int, state: str) -> ComplaintView:
    """A move that records nothing but the new state (to investigating)."""
    row = await _row(session, complaint_id)
    row.state = state
    return await _flushed(session, row)


async def mark_acknowledged(session: AsyncSession, complaint_id: int, *, at: datetime) -> ComplaintView:
    row = await _row(session, complaint_id)
    row.state = "acknowledged"
    row.acknowledged_at = at
    return await _flushed(session, row)


async def mark_resolved(
    session: AsyncSession,
    complaint_id: int,
    *,
    at: datetime,
    resolution: str | None,
    compensation: str | None,
    compensation_amount: Decimal | None,
) -> ComplaintView:
    """`compensation=None` and `compensation_amount=None` keep what an earlier resolution
    offered."""
    row = await _row(session, complaint_id)
    row.state = "resolved"
    row.resolved_at = at
    row.escalated_at = None
    row.resolution = resolution
    if compensation is not None:
        row.compensation = compensation
    if compensation_amount is not None:
        row.compensation_amount = compensation_amount
    return await _flushed(session, row)


async def request_approval(
    session: AsyncSession, complaint_id: int, request: ApprovalRequest
) -> ComplaintView:
    """The resolution waits for a supervisor; the state and what the customer was told stay."""
    row = await _row(session, complaint_id)
    row.approval_requested_at = request.requested_at
    row.approval_requested_by_id = request.requested_by_id
    row.approval_requested_by = request.requested_by
    row.approval_resolution = request.resolution
    row.approval_compensation = request.compensation
    row.approval_amount = request.amount
    return await _flushed(session, row)


async def clear_approval(session: AsyncSession, complaint_id: int) -> ComplaintView:
    """A supervisor decided: nothing waits any more."""
    row = await _row(session, complaint_id)
    row.approval_requested_at = None
    row.approval_requested_by_id = None
    row.approval_requested_by = None
    row.approval_resolution = None
    row.approval_compensation = None
    row.approval_amount = None
    return await _flushed(session, row)


async def mark_closed(session: AsyncSession, complaint_id: int, *, at: datetime) -> ComplaintView:
    row = await _row(session, complaint_id)
    row.state = "closed"
    row.closed_at = at
    return await _flushed(session, row)


async def assign(
    session: AsyncSession, complaint_id: int, *, assignee_id: int | None, department: str | None
) -> ComplaintView:
    row = await _row(session, complaint_id)
    row.assignee_id = assignee_id
    row.department = department
    return await _flushed(session, row)


async def mark_reopened(
    session: AsyncSession, complaint_id: int, *, reopen_count: int, resolve_due_at: datetime
) -> ComplaintView:
    row = await _row(session, complaint_id)
    row.state = "reopened"
    row.reopen_count = reopen_count
    row.resolve_due_at = resolve_due_at
    row.resolved_at = None
    return await _flushed(session, row)


async def add_event(
    session: AsyncSession,
    complaint_id: int,
    *,
    at: datetime,
    kind: str,
    actor_kind: str,
    actor_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    note: str | None = None,
) -> None:
    session.add(
        ComplaintEvent(
            complaint_id=complaint_id,
            at=at,
            kind=kind,
            actor_kind=actor_kind,
            actor_id=actor_id,
            from_state=from_state,
            to_state=to_state,
            note=note,
        )
    )
    await session.flush()


async def events(session: AsyncSession, complaint_id: int) -> tuple[EventView, ...]:
    rows = (
        await session.execute(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint_id)
            .order_by(ComplaintEvent.id)
        )
    ).scalars()
    return tuple(
        EventView(r.at, r.kind, r.actor_kind, r.actor_id, r.from_state, r.to_state, r.note) for r in rows
    )


async def search(
    session: AsyncSession,
    *,
    customer_id: int | None = None,
    states: Sequence[str] = (),
    overdue_at: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[ComplaintView]:
    query = select(Complaint).order_by(Complaint.id.desc()).limit(limit).offset(offset)
    if customer_id is not None:
        query = query.where(Complaint.customer_id == customer_id)
    if states:
        query = query.where(Complaint.state.in_(states))
    if overdue_at is not None:
        query = query.where(Complaint.state.in_(OPEN_STATES), Complaint.resolve_due_at < overdue_at)
    return [complaint_view(r) for r in (await session.execute(query)).scalars()]


async def add_timer(session: AsyncSession, complaint_id: int, kind: str, due_at: datetime) -> None:
    session.add(ComplaintTimer(complaint_id=complaint_id, kind=kind, due_at=due_at))
    await session.flush()


async def finish_timers(session: AsyncSession, complaint_id: int, kinds: Sequence[str], at: datetime) -> None:
    """The step a deadline watched for happened: stop watching it."""
    await session.execute(
        update(ComplaintTimer)
        .where(
            ComplaintTimer.complaint_id == complaint_id,
            ComplaintTimer.kind.in_(kinds),
            ComplaintTimer.done_at.is_(None),
        )
        .values(done_at=at)
    )


async def claim_due_timers(session: AsyncSession, now: datetime, limit: int = 100) -> list[DueTimer]:
    """Due timers, locked for this transaction; SKIP LOCKED lets other workers take the rest."""
    query = (
        select(ComplaintTimer)
        .where(ComplaintTimer.done_at.is_(None), ComplaintTimer.due_at <= now)
        .order_by(ComplaintTimer.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = (await session.execute(query)).scalars().all()
    return [DueTimer(r.id, r.complaint_id, r.kind, r.due_at) for r in rows]


async def mark_escalated(session: AsyncSession, timer: DueTimer, at: datetime) -> None:
    """The timer fired; its complaint keeps the first breach until it is resolved."""
    await session.execute(
        update(ComplaintTimer).where(ComplaintTimer.id == timer.id).values(done_at=at, escalated=True)
    )
    await session.execute(
        update(Complaint)
        .where(Complaint.id == timer.complaint_id, Complaint.escalated_at.is_(None))
        .values(escalated_at=timer.due_at)
    )


async def add_alert(
    session: AsyncSession, *, at: datetime, kind: str, message: str, complaint_id: int | None = None
) -> None:
    session.add(Alert(at=at, kind=kind, message=message, complaint_id=complaint_id))
    await session.flush()


async def clear_deadline_alerts(session: AsyncSession, complaint_id: int, at: datetime) -> None:
    """A newer breach replaces the complaint's open deadline alert: one alert per complaint."""
    await session.execute(
        update(Alert)
        .where(Alert.complaint_id == complaint_id, Alert.kind == DEADLINE_ALERT, Alert.cleared_at.is_(None))
        .values(cleared_at=at)
    )


async def clear_settled_alerts(session: AsyncSession, now: datetime) -> None:
    """Clear the deadline alerts of complaints no longer overdue (acknowledged, resolved,
    closed): an alert stays open exactly as long as its complaint counts as overdue."""
    still_overdue = exists().where(Complaint.id == Alert.complaint_id, overdue(now))
    await session.execute(
        update(Alert)
        .where(Alert.kind == DEADLINE_ALERT, Alert.cleared_at.is_(None), ~still_overdue)
        .values(cleared_at=now)
        .execution_options(synchronize_session=False)
    )


async def count_open_alerts(session: AsyncSession) -> int:
    query = select(func.count()).select_from(Alert).where(Alert.cleared_at.is_(None))
    return int((await session.execute(query)).scalar_one())


async def open_alerts(session: AsyncSession, limit: int = 50) -> list[AlertView]:
    rows = (
        await session.execute(
            select(Alert).where(Alert.cleared_at.is_(None)).order_by(Alert.id.desc()).limit(limit)
        )
    ).scalars()
    return [AlertView(r.id, r.at, r.kind, r.complaint_id, r.message) for r in rows]
