"""Users (agents, supervisors, admins), API tokens and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiToken, AuditEntry, User
from storage.models.base import utcnow


@dataclass(frozen=True)
class UserRecord:
    id: int
    login: str
    name: str
    role: str
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    active: bool


@dataclass(frozen=True)
class Actor:
    """Who read or changed something, as the audit trail names them."""

    name: str  # a login, `telegram:<user id>`, `rasa:<channel>:<sender>`, `system`
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


def to_user(row: User) -> UserRecord:
    return UserRecord(
        id=row.id,
        login=row.login,
        name=row.name,
        role=row.role,
        skills=tuple(row.skills or ()),
        languages=tuple(row.languages or ()),
        active=row.active,
    )


async def get_by_login(session: AsyncSession, login: str) -> UserRecord | None:
    row = (await session.execute(select(User).where(User.login == login))).scalar_one_or_none()
    return None if row is None else to_user(row)


async def password_hash(session: AsyncSession, login: str) -> str | None:
    result = await session.execute(
        select(User.password_hash).where(User.login == login, User.active.is_(True))
    )
    return result.scalar_one_or_none()


async def upsert(
    session: AsyncSession,
    login: str,
    *,
    password_hash: str,
    role: str,
    name: str = "",
    skills: Sequence[str] = (),
    languages: Sequence[str] = (),
) -> UserRecord:
    row = (await session.execute(select(User).where(User.login == login))).scalar_one_or_none()
    if row is None:
        row = User(login=login)
        session.add(row)
    row.password_hash = password_hash
    row.role = role
    row.name = name
    row.skills = list(skills)
    row.languages = list(languages)
    row.active = True
    await session.flush()
    return to_user(row)


async def add_token(session: AsyncSession, user_id: int, token_hash: str) -> None:
    session.add(ApiToken(user_id=user_id, token_hash=token_hash))
    await session.flush()


async def by_token_hash(session: AsyncSession, token_hash: str) -> UserRecord | None:
    result = await session.execute(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_hash, User.active.is_(True))
    )
    row = result.scalar_one_or_none()
    return None if row is None else to_user(row)


async def deactivate(session: AsyncSession, login: str) -> UserRecord | None:
    row = (await session.execute(select(User).where(User.login == login))).scalar_one_or_none()
    if row is None:
        return None
    row.active = False
    await session.flush()
    return to_user(row)


async def delete_tokens(session: AsyncSession, user_id: int) -> int:
    """Revoke every API token of a user; a re-enabled account starts with none."""
    result = await session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


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
    session.add(
        AuditEntry(
            at=utcnow(),
            actor_id=actor.user_id,
            actor=actor.name,
            via=actor.via,
            customer_id=customer_id,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            details=details or {},
        )
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
