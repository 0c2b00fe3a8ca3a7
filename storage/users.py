"""Users (agents, supervisors, admins) and API tokens. The audit trail lives in storage.audit;
its names stay importable from here, where callers have always found them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import SYSTEM as SYSTEM
from storage.audit import Actor as Actor
from storage.audit import AuditRecord as AuditRecord
from storage.audit import audit as audit
from storage.audit import audit_trail as audit_trail
from storage.keep import KEEP, Keep, given
from storage.models import ApiToken, User


@dataclass(frozen=True)
class UserRecord:
    id: int
    login: str
    name: str
    role: str
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    active: bool
    console_language: str | None = None
    max_chats: int = 3  # chats held at once (the inbox); calls have their own capacity
    phone: str | None = None  # E.164, as a PBX reports it when this agent answers
    twilio_client: str | None = None


def to_user(row: User) -> UserRecord:
    return UserRecord(
        id=row.id,
        login=row.login,
        name=row.name,
        role=row.role,
        skills=tuple(row.skills or ()),
        languages=tuple(row.languages or ()),
        active=row.active,
        console_language=row.console_language,
        max_chats=row.max_chats,
        phone=row.phone,
        twilio_client=row.twilio_client,
    )


async def get_by_login(session: AsyncSession, login: str) -> UserRecord | None:
    row = (await session.execute(select(User).where(User.login == login))).scalar_one_or_none()
    return None if row is None else to_user(row)


async def get_active_by(
    session: AsyncSession, *, phone: str | None = None, user_id: int | None = None
) -> UserRecord | None:
    """An active user by their phone (E.164) or id."""
    where = User.phone == phone if phone is not None else User.id == user_id
    row = (await session.execute(select(User).where(where, User.active.is_(True)))).scalar_one_or_none()
    return None if row is None else to_user(row)


async def get_by_phone(session: AsyncSession, phone: str) -> UserRecord | None:
    """Whoever holds this phone, active or not (the unique index counts both)."""
    row = (await session.execute(select(User).where(User.phone == phone))).scalar_one_or_none()
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


async def insert(
    session: AsyncSession,
    login: str,
    *,
    password_hash: str,
    role: str,
    name: str,
    skills: Sequence[str],
    languages: Sequence[str],
    max_chats: int,
    phone: str | None = None,
    twilio_client: str | None = None,
) -> UserRecord:
    """A new user; the caller has checked that the login and phone are free (unique indexes
    hold too)."""
    row = User(
        login=login,
        password_hash=password_hash,
        role=role,
        name=name,
        skills=list(skills),
        languages=list(languages),
        active=True,
        max_chats=max_chats,
        phone=phone,
        twilio_client=twilio_client,
    )
    session.add(row)
    await session.flush()
    return to_user(row)


async def update(
    session: AsyncSession,
    login: str,
    *,
    role: str | Keep = KEEP,
    name: str | Keep = KEEP,
    skills: Sequence[str] | Keep = KEEP,
    languages: Sequence[str] | Keep = KEEP,
    password_hash: str | Keep = KEEP,
    max_chats: int | Keep = KEEP,
    phone: str | Keep | None = KEEP,
    twilio_client: str | Keep | None = KEEP,
) -> UserRecord | None:
    """Change what was given (KEEP leaves a column as stored); None when there is no such user."""
    row = (await session.execute(select(User).where(User.login == login))).scalar_one_or_none()
    if row is None:
        return None
    changes = given(
        role=role,
        name=name,
        skills=skills if isinstance(skills, Keep) else list(skills),
        languages=languages if isinstance(languages, Keep) else list(languages),
        password_hash=password_hash,
        max_chats=max_chats,
        phone=phone,
        twilio_client=twilio_client,
    )
    for key, value in changes.items():
        setattr(row, key, value)
    await session.flush()
    return to_user(row)


async def set_console_language(session: AsyncSession, user_id: int, language: str) -> None:
    row = await session.get(User, user_id)
    if row is not None:
        row.console_language = language
        await session.flush()


async def all_users(session: AsyncSession) -> list[UserRecord]:
    rows = (await session.execute(select(User).order_by(User.login))).scalars()
    return [to_user(row) for row in rows]


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
