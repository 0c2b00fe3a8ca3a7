"""The complaints workbench's list: complaints with their customer's name and tier and their
assignee, filtered, soonest resolve deadline first, one page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.complaints import OPEN_STATES
from storage.models import Complaint, Customer, CustomerIdentity
from storage.models.users import User


@dataclass(frozen=True)
class ListFilter:
    """What the list is narrowed to; None (or empty) leaves a filter off."""

    states: tuple[str, ...] = ()
    severity: str | None = None
    category: str | None = None
    channel: str | None = None
    tier: str | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    overdue_at: datetime | None = None
    ticket: str | None = None
    phone: str | None = None
    # Part of the description or of the customer's name.
    text: str | None = None


@dataclass(frozen=True)
class ListRow:
    id: int
    ticket: str
    customer_id: int
    customer_name: str
    tier: str
    category: str
    severity: str
    state: str
    channel: str
    department: str | None
    assignee: str | None
    acknowledge_due_at: datetime | None
    resolve_due_at: datetime | None


_Query = Select[Complaint, str, str, str, str | None]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(query: _Query, f: ListFilter) -> _Query:
    c = Complaint
    if f.states:
        query = query.where(c.state.in_(f.states))
    for column, wanted in ((c.severity, f.severity), (c.category, f.category), (c.channel, f.channel)):
        if wanted:
            query = query.where(column == wanted)
    if f.tier:
        query = query.where(Customer.tier == f.tier)
    if f.unassigned:
        query = query.where(c.assignee_id.is_(None))
    elif f.assignee_id is not None:
        query = query.where(c.assignee_id == f.assignee_id)
    if f.overdue_at is not None:
        query = query.where(c.state.in_(OPEN_STATES), c.resolve_due_at < f.overdue_at)
    if f.ticket:
        query = query.where(c.ticket == f.ticket)
    if f.phone:
        owners = select(CustomerIdentity.customer_id).where(
            CustomerIdentity.kind == "phone", CustomerIdentity.value == f.phone
        )
        query = query.where(c.customer_id.in_(owners))
    if f.text:
        pattern = _like(f.text)
        # The names come from the trigram index (PostgreSQL), not from a walk of every customer.
        named = select(Customer.id).where(Customer.name.ilike(pattern, escape="\\"))
        query = query.where(or_(c.description.ilike(pattern, escape="\\"), c.customer_id.in_(named)))
    return query


async def page(session: AsyncSession, f: ListFilter, *, limit: int, offset: int) -> list[ListRow]:
    """One page, soonest resolve deadline first (no deadline last, then by id so pages are
    stable); ask for one more than you show to know whether a next page exists."""
    query = (
        select(Complaint, Customer.name, Customer.tier, User.name, User.login)
        .join(Customer, Customer.id == Complaint.customer_id)
        .outerjoin(User, User.id == Complaint.assignee_id)
        .order_by(Complaint.resolve_due_at.asc().nulls_last(), Complaint.id)
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.execute(_filtered(query, f))).all()
    return [
        ListRow(
            id=c.id,
            ticket=c.ticket,
            customer_id=c.customer_id,
            customer_name=name,
            tier=tier,
            category=c.category,
            severity=c.severity,
            state=c.state,
            channel=c.channel,
            department=c.department,
            assignee=(user_name or user_login) if user_login else None,
            acknowledge_due_at=c.acknowledge_due_at,
            resolve_due_at=c.resolve_due_at,
        )
        for c, name, tier, user_name, user_login in rows
    ]
