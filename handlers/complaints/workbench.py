"""The complaints workbench: the list an agent works from (filters and a search box read
as the operator means them), and one complaint opened as a case with everything the page
shows. Both reads are audited, as the API's are."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.complaints.desk import may_give_to
from handlers.complaints.lifecycle import STATES, moves_for
from handlers.complaints.policy import CHANNELS, DEPARTMENTS, SEVERITIES, ComplaintPolicy
from handlers.customers import TIERS
from handlers.errors import InvalidInput, NotFound
from handlers.identities import normalise_phone
from storage import complaint_list
from storage import complaints as repo
from storage import customers as customers_repo
from storage import users as users_repo
from storage.audit import Actor, audit, audit_each_customer
from storage.complaint_list import ListFilter, ListRow
from storage.complaints import OPEN_STATES, ComplaintView, EventView
from storage.customers import CustomerRecord
from storage.users import UserRecord

PAGE_SIZE = 50
# The list's state choices besides each state: what is still owed an answer, or everything.
OPEN, ALL = "open", "all"
UNASSIGNED = "none"
_TICKET = re.compile(r"^CD-\d{4}-\d+$", re.IGNORECASE)
_PHONE = re.compile(r"^[+\d][\d\s()-]{4,}$")


@dataclass(frozen=True)
class ListQuery:
    """The list as asked for: the filter for storage, the page, and what to show back in
    the form (the asked values, cleaned)."""

    filter: ListFilter
    page: int
    asked: Mapping[str, str]


@dataclass(frozen=True)
class ListPage:
    rows: list[ListRow]
    page: int
    has_next: bool


def _one_of(asked: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = asked.get(name, "")
    if not value:
        return None
    if value not in allowed:
        raise InvalidInput(f"unknown {name}", field=name, allowed=list(allowed))
    return value


def _search(text: str, region: str) -> ListFilter:
    """What the search box means: a ticket, a phone number in any spelling, or else part of
    the description or of the customer's name."""
    if not text:
        return ListFilter()
    if len(text) > 100:
        raise InvalidInput("search for at most 100 characters", field="q")
    if _TICKET.match(text):
        return ListFilter(ticket=text.upper())
    if _PHONE.match(text):
        try:
            return ListFilter(phone=normalise_phone(text, region))
        except InvalidInput:
            pass  # digits that are no phone number: search them as text
    return ListFilter(text=text)


def parse_list_query(
    asked: Mapping[str, str],
    *,
    policy: ComplaintPolicy,
    region: str,
    now: datetime,
    assignees: Mapping[str, int],
) -> ListQuery:
    """The list's query string, checked; an unknown value is InvalidInput naming its field.
    `assignees` maps the logins one may filter by to their ids."""
    cleaned = {name: value.strip() for name, value in asked.items()}
    state = cleaned.get("state") or OPEN
    if state not in (OPEN, ALL, *STATES):
        raise InvalidInput("unknown state", field="state", allowed=[OPEN, ALL, *STATES])
    states = OPEN_STATES if state == OPEN else () if state == ALL else (state,)
    assignee = cleaned.get("assignee", "")
    if assignee and assignee != UNASSIGNED and assignee not in assignees:
        raise InvalidInput("no such agent", field="assignee")
    page = cleaned.get("page") or "1"
    if not page.isdigit() or not 1 <= int(page) <= 10_000:
        raise InvalidInput("the page is a number from 1", field="page")
    found = _search(cleaned.get("q", ""), region)
    return ListQuery(
        filter=replace(
            found,
            states=tuple(states),
            severity=_one_of(cleaned, "severity", SEVERITIES),
            category=_one_of(cleaned, "category", policy.categories),
            channel=_one_of(cleaned, "channel", CHANNELS),
            tier=_one_of(cleaned, "tier", TIERS),
            assignee_id=assignees.get(assignee),
            unassigned=assignee == UNASSIGNED,
            overdue_at=now if cleaned.get("overdue") else None,
        ),
        page=int(page),
        asked={**cleaned, "state": state},
    )


async def list_page(session: AsyncSession, reader: Actor, query: ListQuery) -> ListPage:
    """One page of the list; each customer shown gets an audit entry naming their complaints."""
    rows = await complaint_list.page(
        session, query.filter, limit=PAGE_SIZE + 1, offset=(query.page - 1) * PAGE_SIZE
    )
    shown = rows[:PAGE_SIZE]
    await audit_each_customer(
        session,
        actor=reader,
        action="complaint.list",
        shown=[(r.customer_id, r.id) for r in shown],
        key="complaints",
    )
    await session.commit()
    return ListPage(shown, query.page, has_next=len(rows) > PAGE_SIZE)


@dataclass(frozen=True)
class Case:
    """One complaint as the workbench shows it."""

    complaint: ComplaintView
    customer: CustomerRecord
    events: tuple[EventView, ...]
    # Who did what in the trail, and who the complaint may be given to, by user id.
    people: Mapping[int, UserRecord]
    moves: list[str]
    departments: tuple[str, ...]
    # Whom the reader may give the complaint to.
    assignable: list[UserRecord]


async def open_case(session: AsyncSession, reader: UserRecord, ticket: str) -> Case:
    """A complaint by its ticket with its customer and trail, audited as a read of the
    customer's data."""
    complaint = await repo.get_by_ticket(session, ticket.upper())
    if complaint is None:
        raise NotFound("no such complaint", ticket=ticket)
    customer = await customers_repo.get(session, complaint.customer_id)
    if customer is None:
        raise NotFound("no such customer", customer_id=complaint.customer_id)
    await audit(
        session,
        actor=Actor.of(reader, "console"),
        action="complaint.read",
        customer_id=complaint.customer_id,
        subject_type="complaint",
        subject_id=complaint.id,
        details={"ticket": complaint.ticket},
    )
    await session.commit()
    people = await users_repo.all_users(session)
    return Case(
        complaint=complaint,
        customer=customer,
        events=await repo.events(session, complaint.id),
        people={u.id: u for u in people},
        moves=moves_for(complaint, reader.role),
        departments=tuple(sorted(set(DEPARTMENTS.values()))),
        assignable=[u for u in people if may_give_to(reader, u)],
    )


async def assignees(session: AsyncSession) -> list[UserRecord]:
    """Whom the list may be filtered by: the active staff."""
    return [u for u in await users_repo.all_users(session) if u.active]


async def id_for_ticket(session: AsyncSession, ticket: str) -> int:
    complaint = await repo.get_by_ticket(session, ticket.upper())
    if complaint is None:
        raise NotFound("no such complaint", ticket=ticket)
    return complaint.id
