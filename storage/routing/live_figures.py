"""The live report's queries over the contact log: today's calls counted per queue and
quarter hour, the calls waiting now, and each agent's state and calls today.

Three round trips, each grouped by the database, so that a year of contacts (10 M rows)
costs what today costs: today's calls are found by a range of `ix_contacts_created_at`,
the calls waiting now by the partial index `ix_contacts_waiting` (only unanswered, unended
routed calls are in it). What counts as offered is `offered_today`; handlers/live_report.py
says why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, null, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from storage.elapsed import seconds_between, whole_units
from storage.models import AgentState, Contact, Queue, User
from storage.models.base import UTCDateTime
from storage.routing.contact_log import aware

QUARTER_S = 15 * 60

# The calls a wallboard counts: inbound phone calls routed to a queue. The partial index
# ix_contacts_waiting repeats `action = 'route'` and the two NULLs: keep them in step.
ROUTED = and_(
    Contact.action == "route",
    Contact.queue.is_not(None),
    Contact.channel == "phone",
    Contact.direction == "in",
)
WAITING = and_(Contact.action == "route", Contact.answered_at.is_(None), Contact.ended_at.is_(None))


@dataclass(frozen=True)
class Tally:
    """Sums over a set of offered calls, from which every ratio and average follows."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    within: int = 0  # answered within the threshold
    wait_s: float = 0.0  # summed over the answered calls
    ended_answered: int = 0  # answered calls that have ended: the ones with a handle time
    handle_s: float = 0.0

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.offered + other.offered,
            self.answered + other.answered,
            self.abandoned + other.abandoned,
            self.within + other.within,
            self.wait_s + other.wait_s,
            self.ended_answered + other.ended_answered,
            self.handle_s + other.handle_s,
        )


@dataclass(frozen=True)
class Waiting:
    queue: str
    waiting: int
    oldest_at: datetime | None
    configured: bool


@dataclass(frozen=True)
class AgentDay:
    login: str
    name: str
    state: str
    since: datetime
    handled: int
    ended: int  # of the handled calls, those that have ended
    handle_s: float


def offered_today(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(Contact.created_at >= start, Contact.created_at < end, ROUTED)


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _total(condition: ColumnElement[bool], seconds: Any) -> Any:
    return func.sum(case((condition, seconds), else_=0.0))


def _tally_columns(threshold_s: int) -> list[Any]:
    answered = Contact.answered_at.is_not(None)
    ended_answered = and_(answered, Contact.ended_at.is_not(None))
    wait = seconds_between(Contact.answered_at, Contact.created_at)
    return [
        func.count().label("offered"),
        _count(answered).label("answered"),
        _count(and_(Contact.answered_at.is_(None), Contact.ended_at.is_not(None))).label("abandoned"),
        _count(and_(answered, wait <= threshold_s)).label("within"),
        _total(answered, wait).label("wait_s"),
        _count(ended_answered).label("ended_answered"),
        _total(ended_answered, seconds_between(Contact.ended_at, Contact.answered_at)).label("handle_s"),
    ]


def _tally(row: Any) -> Tally:
    return Tally(
        int(row.offered),
        int(row.answered or 0),
        int(row.abandoned or 0),
        int(row.within or 0),
        float(row.wait_s or 0),
        int(row.ended_answered or 0),
        float(row.handle_s or 0),
    )


async def today_by_quarter(
    session: AsyncSession, start: datetime, end: datetime, threshold_s: int
) -> dict[tuple[str, int], Tally]:
    """(queue, quarter hour since `start`) → the tally of the calls offered in it, for the
    calls offered in [start, end): at most queues × 100 rows, whatever the day's volume."""
    quarter = whole_units(
        seconds_between(Contact.created_at, literal(start, UTCDateTime)), literal(QUARTER_S)
    ).label("quarter")
    rows = await session.execute(
        select(Contact.queue, quarter, *_tally_columns(threshold_s))
        .where(offered_today(start, end))
        .group_by(Contact.queue, quarter)
    )
    return {(str(row.queue), int(row.quarter)): _tally(row) for row in rows}


async def waiting_now(session: AsyncSession) -> list[Waiting]:
    """Every configured queue and every queue with a call waiting: how many wait, and since
    when the longest has. One round trip: the queues table joins by UNION ALL."""
    waiting = (
        select(
            Contact.queue.label("queue"),
            func.count().label("waiting"),
            func.min(Contact.created_at).label("oldest_at"),
            literal(0).label("configured"),
        )
        .where(WAITING, ROUTED)
        .group_by(Contact.queue)
    )
    configured = select(Queue.name, literal(0), null(), literal(1))
    found: dict[str, Waiting] = {}
    rows: Any = await session.execute(union_all(waiting, configured))
    for row in rows:
        name = str(row.queue)
        before = found.get(name)
        found[name] = Waiting(
            name,
            int(row.waiting) + (before.waiting if before else 0),
            aware(row.oldest_at) or (before.oldest_at if before else None),
            bool(row.configured) or (before.configured if before else False),
        )
    return sorted(found.values(), key=lambda w: w.queue)


async def agents_today(session: AsyncSession, start: datetime, end: datetime, *, role: str) -> list[AgentDay]:
    """Every active user of `role` and anyone else with a state, by login: state and since when, and
    the calls offered in [start, end) that they answered (a user without a state row has
    never been on the floor: offline since the account was made)."""
    answered = and_(
        offered_today(start, end), Contact.answered_at.is_not(None), Contact.agent_id.is_not(None)
    )
    ended = Contact.ended_at.is_not(None)
    calls = (
        select(
            Contact.agent_id.label("agent_id"),
            func.count().label("handled"),
            _count(ended).label("ended"),
            _total(ended, seconds_between(Contact.ended_at, Contact.answered_at)).label("handle_s"),
        )
        .where(answered)
        .group_by(Contact.agent_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            User.login,
            User.name,
            func.coalesce(AgentState.state, "offline").label("state"),
            AgentState.since,
            User.created_at,
            calls.c.handled,
            calls.c.ended,
            calls.c.handle_s,
        )
        .outerjoin(AgentState, AgentState.user_id == User.id)
        .outerjoin(calls, calls.c.agent_id == User.id)
        .where(User.active.is_(True), or_(User.role == role, AgentState.user_id.is_not(None)))
        .order_by(User.login)
    )
    return [
        AgentDay(
            login=str(row.login),
            name=str(row.name or ""),
            state=str(row.state),
            since=row.since or row.created_at,
            handled=int(row.handled or 0),
            ended=int(row.ended or 0),
            handle_s=float(row.handle_s or 0),
        )
        for row in rows
    ]
