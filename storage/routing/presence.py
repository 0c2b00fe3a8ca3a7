"""Agent presence: who is available with which skills and languages, and the claims that
make an agent busy while a call is offered or in progress and free again after it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AgentState, User


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


def _state_view(a: AgentState, u: User) -> AgentStateView:
    return AgentStateView(
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


async def agent_states(session: AsyncSession) -> list[AgentStateView]:
    rows = (
        await session.execute(
            select(AgentState, User).join(User, User.id == AgentState.user_id).order_by(User.login)
        )
    ).all()
    return [_state_view(a, u) for a, u in rows]


# Each call moves an agent's state twice and their console reads it each time: Core on the
# table, built once, so no ORM rows are made (through the ORM this read cost most of what
# the card's own statement did, issue 17). The database, not the event, says the state:
# events published after commit may arrive out of order.
_STATE = select(AgentState.__table__.c.state).where(AgentState.__table__.c.user_id == bindparam("user_id"))


_STATE_SQL = "SELECT state FROM agent_states WHERE user_id = $1"


async def state_name(session: AsyncSession, user_id: int) -> str | None:
    """One agent's state (their console follows it), None before they ever set one. On
    PostgreSQL straight through asyncpg on the session's connection (a prepared statement,
    as the card's): through SQLAlchemy's Core this read still cost a tenth of a loaded
    instance's CPU."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        raw = await connection.get_raw_connection()
        driver = cast(Any, raw.driver_connection)
        state = await driver.fetchval(_STATE_SQL, user_id)
        return None if state is None else str(state)
    return await connection.scalar(_STATE, {"user_id": user_id})


@dataclass(frozen=True)
class AgentEndpoint:
    """Where a call offered to an agent is put through: a Twilio Client identity or a phone."""

    twilio_client: str | None
    phone: str | None


async def agent_endpoint(session: AsyncSession, login: str) -> AgentEndpoint | None:
    """The agent's configured endpoints; None when they have neither."""
    row = (await session.execute(select(User.twilio_client, User.phone).where(User.login == login))).first()
    if row is None or not (row.twilio_client or row.phone):
        return None
    return AgentEndpoint(twilio_client=row.twilio_client or None, phone=row.phone or None)
