"""The audit trail: who read or changed a customer's data, when, and through which door.

Append-only: nothing here updates or deletes a row (on PostgreSQL a trigger refuses it too).
Writers flush and never commit; the use case's transaction carries the entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry
from storage.models.base import utcnow

if TYPE_CHECKING:
    from storage.users import UserRecord


@dataclass(frozen=True)
class Actor:
    """Who read or changed something, as the audit trail names them."""

    name: str  # a login, `telegram:<user id>`, `rasa:<channel>:<sender>`, `cli:<os user>`, `system`
    via: str  # the door: api, console, ws, rasa, telegram, cli, import
    user_id: int | None = None  # set when the actor is one of our users

    @classmethod
    def of(cls, user: UserRecord, via: str) -> Actor:
        return cls(name=user.login, via=via, user_id=user.id)


# Work done by the application itself (a worker, a migration of data), not by a person.
SYSTEM = Actor(name="system", via="system")


@dataclass(frozen=True)
class AuditRecord:
    at: datetime
    actor_id: int | None
    actor: str
    via: str
    customer_id: int | None
    action: str
    subject_type: str
    subject_id: str
    details: dict[str, Any]


@dataclass(frozen=True)
class AuditQuery:
    """What an auditor asks for; every filter given must match."""

    customer_id: int | None = None
    actor: str | None = None
    since: datetime | None = None
    limit: int = 100


def _entry(
    actor: Actor,
    action: str,
    customer_id: int | None,
    subject_type: str,
    subject_id: str | int,
    details: dict[str, Any] | None,
    at: datetime,
) -> AuditEntry:
    return AuditEntry(
        at=at,
        actor_id=actor.user_id,
        actor=actor.name,
        via=actor.via,
        customer_id=customer_id,
        action=action,
        subject_type=subject_type,
        # The column holds 64 characters; a call id from a PBX may be longer.
        subject_id=str(subject_id)[:64],
        details=details or {},
    )


async def audit(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    customer_id: int | None,
    subject_type: str,
    subject_id: str | int,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one entry; the caller's transaction carries it (no commit here)."""
    session.add(_entry(actor, action, customer_id, subject_type, subject_id, details, utcnow()))
    await session.flush()


async def audit_each_customer(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    shown: Iterable[tuple[int, int | str]],
    key: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """One entry per customer a list read showed, so that an auditor finds it by customer
    id. `shown` pairs each customer id with the id of what of theirs was shown; an entry's
    details list those ids under `key`."""
    grouped: dict[int, list[int | str]] = {}
    for customer_id, item in shown:
        grouped.setdefault(customer_id, []).append(item)
    at = utcnow()
    session.add_all(
        _entry(actor, action, customer_id, "customer", customer_id, {**(details or {}), key: items}, at)
        for customer_id, items in grouped.items()
    )
    await session.flush()


def _to_audit(r: AuditEntry) -> AuditRecord:
    return AuditRecord(
        at=r.at,
        actor_id=r.actor_id,
        actor=r.actor,
        via=r.via,
        customer_id=r.customer_id,
        action=r.action,
        subject_type=r.subject_type,
        subject_id=r.subject_id,
        details=dict(r.details),
    )


async def audit_trail(
    session: AsyncSession, subject_type: str, subject_id: str | int, limit: int = 100
) -> list[AuditRecord]:
    rows = (
        await session.execute(
            select(AuditEntry)
            .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == str(subject_id))
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
    ).scalars()
    return [_to_audit(r) for r in rows]


async def customer_changes(
    session: AsyncSession, customer_id: int, actions: Iterable[str], limit: int
) -> list[AuditRecord]:
    """Newest first: the entries of these actions about one customer (the trail is the
    history of what was changed, by whom and why)."""
    statement = (
        select(AuditEntry)
        .where(AuditEntry.customer_id == customer_id, AuditEntry.action.in_(list(actions)))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return [_to_audit(r) for r in (await session.execute(statement)).scalars()]


async def search(session: AsyncSession, query: AuditQuery) -> list[AuditRecord]:
    """Newest first; the (customer_id, at) and (actor, at) indexes serve the two filters."""
    statement = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(query.limit)
    if query.customer_id is not None:
        statement = statement.where(AuditEntry.customer_id == query.customer_id)
    if query.actor is not None:
        statement = statement.where(AuditEntry.actor == query.actor)
    if query.since is not None:
        statement = statement.where(AuditEntry.at >= query.since)
    return [_to_audit(r) for r in (await session.execute(statement)).scalars()]
