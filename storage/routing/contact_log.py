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


async def open_calls_for_agent(session: AsyncSession, user_id: int) -> list[str]:
    rows = await session.execute(
        select(Contact.external_id)
        .where(Contact.agent_id == user_id, Contact.ended_at.is_(None), Contact.action == "route")
        .order_by(Contact.created_at)
    )
    return [str(r) for r in rows.scalars()]
