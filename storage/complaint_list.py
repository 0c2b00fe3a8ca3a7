"""The complaints workbench's list: complaints with their customer's name and tier and their
assignee, filtered, soonest resolve deadline first, one page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from storage.complaints import OPEN_STATES
from storage.customer_search import name_starts_with
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
    # Part of the description, or the beginning of the customer's name.
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


# How many complaints a text search considers: for a word in more of them, the list sorts the
# first ones found (narrow it with a filter or a longer phrase), not every match.
SEARCH_CAP = 1000

_Ids = Select[int, datetime | None]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(query: _Ids, f: ListFilter, dialect: str) -> _Ids:
    c = Complaint
    if f.states:
        query = query.where(c.state.in_(f.states))
    for column, wanted in ((c.severity, f.severity), (c.category, f.category), (c.channel, f.channel)):
        if wanted:
            query = query.where(column == wanted)
    if f.tier:
        query = query.join(Customer, Customer.id == c.customer_id).where(Customer.tier == f.tier)
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
        # Names by their beginning, through the customer search's index (migration 0011).
        named = select(Customer.id).where(name_starts_with(f.text, dialect))
        # A union of ids rather than an OR (ALL: a duplicate is harmless inside IN, and the cap
        # then stops the scans early): each side is found through its own index (the
        # description's trigrams, the customer's complaints), and the planner can start from
        # the few matches.
        # It is capped: a word in most descriptions would otherwise read every complaint.
        matching = union_all(
            select(c.id).where(c.description.ilike(pattern, escape="\\")),
            select(c.id).where(c.customer_id.in_(named)),
        ).limit(SEARCH_CAP)
        query = query.where(c.id.in_(select(matching.subquery().c.id)))
    return query


def statement(
    f: ListFilter, *, limit: int, offset: int, dialect: str
) -> Select[Complaint, str, str, str, str | None]:
    """The list's one SELECT (public so that a benchmark can EXPLAIN it). The page's ids are
    picked first from the deadline index alone (it carries the filtered columns, so a filter
    that matches little does not fetch every row to reject it); only they are then read."""
    picked = (
        _filtered(select(Complaint.id, Complaint.resolve_due_at), f, dialect)
        .order_by(Complaint.resolve_due_at.asc().nulls_last(), Complaint.id)
        .limit(limit)
        .offset(offset)
        .subquery()
    )
    return (
        select(Complaint, Customer.name, Customer.tier, User.name, User.login)
        .join(picked, picked.c.id == Complaint.id)
        .join(Customer, Customer.id == Complaint.customer_id)
        .outerjoin(User, User.id == Complaint.assignee_id)
        .order_by(picked.c.resolve_due_at.asc().nulls_last(), Complaint.id)
    )


async def page(session: AsyncSession, f: ListFilter, *, limit: int, offset: int) -> list[ListRow]:
    """One page, soonest resolve deadline first (no deadline last, then by id so pages are
    stable); ask for one more than you show to know whether a next page exists."""
    dialect = session.bind.dialect.name  # type: ignore[union-attr]
    rows = (await session.execute(statement(f, limit=limit, offset=offset, dialect=dialect))).all()
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
