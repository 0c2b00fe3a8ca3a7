"""The contact log: one row per call (or other contact), its route, agent and progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import Contact, User


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
    skills: tuple[str, ...] = ()


def aware(value: datetime | str | None) -> datetime | None:
    """Aggregates (max, min) bypass the column type: SQLite hands them back as text."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
        skills=tuple(row.skills or ()),
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


@dataclass(frozen=True)
class NewContact:
    channel: str
    direction: str
    external_id: str
    customer_id: int | None
    from_number: str
    to_number: str
    created_at: datetime  # also when it started ringing


@dataclass(frozen=True)
class Route:
    """Where a contact was sent and why (`reason`: the rule's name, or `outbound`)."""

    action: str  # route | reject | callback | outbound
    reason: str
    queue: str | None = None
    priority: int = 0
    agent_id: int | None = None
    skills: tuple[str, ...] = ()
    ivr_digits: str | None = None


def _route_values(route: Route) -> dict[str, Any]:
    return {
        "action": route.action,
        "reason": route.reason,
        "queue": route.queue,
        "priority": route.priority,
        "agent_id": route.agent_id,
        "skills": list(route.skills),
        "ivr_digits": route.ivr_digits,
    }


async def insert_contact(session: AsyncSession, contact: NewContact, route: Route) -> bool:
    """Log a contact; False when this call id was logged already (a repeated webhook).
    ON CONFLICT DO NOTHING spares the savepoint a caught IntegrityError would need."""
    statement = (
        dialect_insert(session)(Contact)
        .values(
            channel=contact.channel,
            direction=contact.direction,
            external_id=contact.external_id,
            customer_id=contact.customer_id,
            from_number=contact.from_number,
            to_number=contact.to_number,
            created_at=contact.created_at,
            ringing_at=contact.created_at,
            extra={},
            fallback=False,
            **_route_values(route),
        )
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(Contact.id)
    )
    return (await session.execute(statement)).first() is not None


async def _update(session: AsyncSession, channel: str, external_id: str, values: dict[str, Any]) -> None:
    await session.execute(
        update(Contact)
        .where(Contact.channel == channel, Contact.external_id == external_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def set_route(session: AsyncSession, channel: str, external_id: str, route: Route) -> None:
    """A new route for a logged contact: the caller answered the IVR menu."""
    await _update(session, channel, external_id, _route_values(route))


async def withdraw_offer(session: AsyncSession, channel: str, external_id: str, agent_id: int) -> bool:
    """The agent offered this call did not take it: the contact has no agent again. False
    when it was withdrawn already (a repeated report) or the call ended meanwhile (its end
    released the agent), so that the agent is released once."""
    result = await session.execute(
        update(Contact)
        .where(
            Contact.channel == channel,
            Contact.external_id == external_id,
            Contact.agent_id == agent_id,
            Contact.ended_at.is_(None),
        )
        .values(agent_id=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_answered(
    session: AsyncSession,
    channel: str,
    external_id: str,
    *,
    answered_at: datetime,
    agent_id: int | None,
    disposition: str | None = None,
) -> None:
    """Answered by an agent, or (agent None, disposition `voicemail`) by the voicemail."""
    values: dict[str, Any] = {"answered_at": answered_at, "agent_id": agent_id}
    if disposition is not None:
        values["disposition"] = disposition
    await _update(session, channel, external_id, values)


async def mark_ended(
    session: AsyncSession,
    channel: str,
    external_id: str,
    *,
    ended_at: datetime,
    duration_seconds: int | None,
    disposition: str | None,
) -> bool:
    """Stamp the call's end, once: False when another hangup stamped it first (two deliveries
    of the same hangup crossing), so that only one of them frees the agent."""
    stamped = await session.execute(
        update(Contact)
        .where(Contact.channel == channel, Contact.external_id == external_id, Contact.ended_at.is_(None))
        .values(ended_at=ended_at, duration_seconds=duration_seconds, disposition=disposition)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(stamped, "rowcount", 0))


async def set_disposition(
    session: AsyncSession, channel: str, external_id: str, *, disposition: str, notes: str | None
) -> None:
    """The agent's wrap-up: how the contact ended and their notes."""
    await _update(session, channel, external_id, {"disposition": disposition, "notes": notes})


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


async def open_calls_for_agent(session: AsyncSession, user_id: int) -> list[str]:
    rows = await session.execute(
        select(Contact.external_id)
        .where(Contact.agent_id == user_id, Contact.ended_at.is_(None), Contact.action == "route")
        .order_by(Contact.created_at)
    )
    return [str(r) for r in rows.scalars()]
