"""What routing reads and writes: caller facts, queues, agent claims, the contact log."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.complaints import OPEN_STATES
from storage.db import dialect_insert
from storage.models import AgentState, Complaint, Contact, Customer, CustomerIdentity, Queue, User


@dataclass(frozen=True)
class CallerFacts:
    customer_id: int
    name: str
    tier: str
    blacklisted: bool
    language: str | None
    region: str | None
    open_complaint: bool
    last_contact_at: datetime | None


@dataclass(frozen=True)
class QueueView:
    name: str
    opens: str | None
    closes: str | None
    days: tuple[int, ...]
    timezone: str
    overflow: str | None


@dataclass(frozen=True)
class ContactView:
    id: int
    channel: str
    direction: str
    external_id: str
    customer_id: int | None
    from_number: str | None
    to_number: str | None
    queue: str | None
    priority: int
    agent_id: int | None
    agent_login: str | None
    action: str
    reason: str
    created_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_seconds: int | None
    disposition: str | None
    fallback: bool
    ivr_digits: str | None = None


@dataclass(frozen=True)
class AgentStateView:
    user_id: int
    login: str
    name: str
    state: str
    since: datetime
    capacity: int
    active_contacts: int
    skills: tuple[str, ...]
    languages: tuple[str, ...]


def _aware(value: datetime | str | None) -> datetime | None:
    """Aggregates (max, min) bypass the column type: SQLite hands them back as text."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def caller_facts(session: AsyncSession, kind: str, value: str) -> CallerFacts | None:
    """Everything routing needs about a caller in one round trip: this runs for every call,
    so the open-complaint and last-contact lookups are subqueries of the identity lookup."""
    open_complaint = exists().where(Complaint.customer_id == Customer.id, Complaint.state.in_(OPEN_STATES))
    last_contact = (
        select(func.max(Contact.created_at)).where(Contact.customer_id == Customer.id).scalar_subquery()
    )
    query = (
        select(
            Customer.id,
            Customer.name,
            Customer.tier,
            Customer.blacklisted,
            Customer.language,
            Customer.region,
            open_complaint.label("open_complaint"),
            last_contact.label("last_contact"),
        )
        .select_from(CustomerIdentity)
        .join(Customer, Customer.id == CustomerIdentity.customer_id)
        .where(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
    )
    row = (await session.execute(query)).first()
    if row is None:
        return None
    last = _aware(row.last_contact)
    return CallerFacts(
        row.id,
        row.name,
        row.tier,
        bool(row.blacklisted),
        row.language,
        row.region,
        bool(row.open_complaint),
        last,
    )


async def queues(session: AsyncSession) -> dict[str, QueueView]:
    rows = (await session.execute(select(Queue))).scalars()
    return {
        q.name: QueueView(q.name, q.opens, q.closes, tuple(q.days or ()), q.timezone, q.overflow)
        for q in rows
    }


async def upsert_queue(session: AsyncSession, name: str, **fields: Any) -> None:
    row = (await session.execute(select(Queue).where(Queue.name == name))).scalar_one_or_none()
    if row is None:
        row = Queue(name=name)
        session.add(row)
    for key, value in fields.items():
        setattr(row, key, value)
    await session.flush()


async def candidate_agents(
    session: AsyncSession, skills: Sequence[str], language: str | None, limit: int = 20
) -> list[tuple[int, str]]:
    """Available agents with spare capacity, longest idle first. Skill and language checks
    happen in Python: the JSON lists are short and JSON containment differs per engine."""
    rows = (
        await session.execute(
            select(User.id, User.login, User.skills, User.languages)
            .join(AgentState, AgentState.user_id == User.id)
            .where(
                User.active.is_(True),
                AgentState.state == "available",
                AgentState.active_contacts < AgentState.capacity,
            )
            .order_by(AgentState.since)
            .limit(limit * 5)
        )
    ).all()
    wanted = set(skills)
    found = [
        (r.id, r.login)
        for r in rows
        if wanted <= set(r.skills or ()) and (language is None or language in (r.languages or ()))
    ]
    return found[:limit]


# Routing a call runs for every call. On PostgreSQL the agent choice and the claim are one
# statement: SKIP LOCKED passes over an agent another call is claiming at this instant
# instead of queueing behind its row lock, and the JSONB containment filters skills and
# language in the index scan. Measured with bench/routing.py (docs/telephony.md).
_CLAIM_POSTGRES = text(
    """
    WITH picked AS (
        SELECT a.user_id
        FROM agent_states a JOIN users u ON u.id = a.user_id
        WHERE a.state = 'available' AND a.active_contacts < a.capacity AND u.active
          AND u.skills @> CAST(:skills AS jsonb)
          AND (CAST(:language AS text) IS NULL OR u.languages @> CAST(:language_json AS jsonb))
        ORDER BY a.since
        LIMIT 1
        FOR UPDATE OF a SKIP LOCKED
    )
    UPDATE agent_states AS s
    SET active_contacts = s.active_contacts + 1,
        state = CASE WHEN s.active_contacts + 1 >= s.capacity THEN 'busy' ELSE s.state END,
        since = CASE WHEN s.active_contacts + 1 >= s.capacity THEN :now ELSE s.since END
    FROM picked, users u
    WHERE s.user_id = picked.user_id AND u.id = picked.user_id
    RETURNING s.user_id, u.login
    """
)


async def claim_longest_idle(
    session: AsyncSession, skills: Sequence[str], language: str | None, now: datetime
) -> tuple[int, str] | None:
    """Take the longest-idle available agent with the skills (and language), or None."""
    if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        row = (
            await session.execute(
                _CLAIM_POSTGRES,
                {
                    "skills": json.dumps(list(skills)),
                    "language": language,
                    "language_json": json.dumps([language] if language else []),
                    "now": now,
                },
            )
        ).first()
        return None if row is None else (int(row[0]), str(row[1]))
    # SQLite has one writer at a time, so look, then claim with a conditional UPDATE.
    for user_id, login in await candidate_agents(session, skills, language):
        if await claim_agent(session, user_id, now):
            return user_id, login
    return None


async def claim_agent(session: AsyncSession, user_id: int, now: datetime) -> bool:
    """Take one unit of the agent's capacity unless someone else just took the last one."""
    result = await session.execute(
        update(AgentState)
        .where(
            AgentState.user_id == user_id,
            AgentState.state == "available",
            AgentState.active_contacts < AgentState.capacity,
        )
        .values(
            active_contacts=AgentState.active_contacts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    await session.execute(
        update(AgentState)
        .where(AgentState.user_id == user_id, AgentState.active_contacts >= AgentState.capacity)
        .values(state="busy", since=now)
        .execution_options(synchronize_session=False)
    )
    return True


async def release_agent(
    session: AsyncSession, user_id: int, now: datetime, *, then: str = "available"
) -> None:
    await session.execute(
        update(AgentState)
        .where(AgentState.user_id == user_id)
        .values(
            active_contacts=func.max(AgentState.active_contacts - 1, 0)
            if session.bind.dialect.name == "sqlite"  # type: ignore[union-attr]
            else func.greatest(AgentState.active_contacts - 1, 0),
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(AgentState)
        .where(AgentState.user_id == user_id, AgentState.state.in_(("busy", "available")))
        .values(state=then, since=now)
        .execution_options(synchronize_session=False)
    )


async def set_agent_state(session: AsyncSession, user_id: int, state: str, now: datetime) -> None:
    row = await session.get(AgentState, user_id)
    if row is None:
        session.add(AgentState(user_id=user_id, state=state, since=now, capacity=1, active_contacts=0))
    else:
        row.state, row.since = state, now
    await session.flush()


async def agent_states(session: AsyncSession) -> list[AgentStateView]:
    rows = (
        await session.execute(
            select(AgentState, User).join(User, User.id == AgentState.user_id).order_by(User.login)
        )
    ).all()
    return [
        AgentStateView(
            u.id,
            u.login,
            u.name,
            a.state,
            a.since,
            a.capacity,
            a.active_contacts,
            tuple(u.skills or ()),
            tuple(u.languages or ()),
        )
        for a, u in rows
    ]


def _contact(row: Contact, login: str | None) -> ContactView:
    return ContactView(
        id=row.id,
        channel=row.channel,
        direction=row.direction,
        external_id=row.external_id,
        customer_id=row.customer_id,
        from_number=row.from_number,
        to_number=row.to_number,
        queue=row.queue,
        priority=row.priority,
        agent_id=row.agent_id,
        agent_login=login,
        action=row.action,
        reason=row.reason,
        created_at=row.created_at,
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        duration_seconds=row.duration_seconds,
        disposition=row.disposition,
        fallback=row.fallback,
        ivr_digits=row.ivr_digits,
    )


async def get_contact(session: AsyncSession, channel: str, external_id: str) -> ContactView | None:
    row = (
        await session.execute(
            select(Contact, User.login)
            .outerjoin(User, User.id == Contact.agent_id)
            .where(Contact.channel == channel, Contact.external_id == external_id)
        )
    ).first()
    return None if row is None else _contact(row[0], row[1])


async def insert_contact(session: AsyncSession, **fields: Any) -> bool:
    """Log a contact; False when this call id was logged already (a repeated webhook).
    ON CONFLICT DO NOTHING spares the savepoint a caught IntegrityError would need."""
    fields.setdefault("extra", {})
    fields.setdefault("fallback", False)
    statement = (
        dialect_insert(session)(Contact)
        .values(**fields)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(Contact.id)
    )
    return (await session.execute(statement)).first() is not None


async def update_contact(session: AsyncSession, channel: str, external_id: str, **fields: Any) -> None:
    await session.execute(
        update(Contact)
        .where(Contact.channel == channel, Contact.external_id == external_id)
        .values(**fields)
        .execution_options(synchronize_session=False)
    )


async def recent_contacts(session: AsyncSession, customer_id: int, limit: int = 5) -> list[ContactView]:
    rows = (
        await session.execute(
            select(Contact, User.login)
            .outerjoin(User, User.id == Contact.agent_id)
            .where(Contact.customer_id == customer_id)
            .order_by(Contact.created_at.desc(), Contact.id.desc())
            .limit(limit)
        )
    ).all()
    return [_contact(c, login) for c, login in rows]


async def queue_stats(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
    """Per queue: contacts waiting (routed, not answered, not ended) and the longest wait."""
    waiting = and_(Contact.action == "route", Contact.answered_at.is_(None), Contact.ended_at.is_(None))
    rows = (
        await session.execute(
            select(Contact.queue, func.count(), func.min(Contact.created_at))
            .where(waiting)
            .group_by(Contact.queue)
        )
    ).all()
    stats = []
    for queue, count, oldest_raw in rows:
        oldest = _aware(oldest_raw)
        stats.append(
            {
                "queue": queue,
                "waiting": int(count),
                "longest_wait_seconds": int((now - oldest).total_seconds()) if oldest else 0,
            }
        )
    return stats


async def open_calls_for_agent(session: AsyncSession, user_id: int) -> list[str]:
    rows = await session.execute(
        select(Contact.external_id)
        .where(Contact.agent_id == user_id, Contact.ended_at.is_(None), Contact.action == "route")
        .order_by(Contact.created_at)
    )
    return [str(r) for r in rows.scalars()]
