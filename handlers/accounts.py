"""Users and credentials: password checks, API tokens."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import InvalidInput, NotFound
from storage import users as repo
from storage.users import UserRecord

ROLES = ("agent", "supervisor", "admin")
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return str(_hasher.hash(password))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def save_user(
    session: AsyncSession,
    login: str,
    password: str,
    *,
    role: str,
    name: str = "",
    skills: tuple[str, ...] = (),
    languages: tuple[str, ...] = (),
) -> UserRecord:
    if role not in ROLES:
        raise InvalidInput("unknown role", field="role", allowed=list(ROLES))
    user = await repo.upsert(
        session,
        login,
        password_hash=hash_password(password),
        role=role,
        name=name,
        skills=skills,
        languages=languages,
    )
    await session.commit()
    return user


async def authenticate(session: AsyncSession, login: str, password: str) -> UserRecord | None:
    stored = await repo.password_hash(session, login)
    if stored is None:
        return None
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return await repo.get_by_login(session, login)


async def issue_token(session: AsyncSession, login: str) -> str:
    user = await repo.get_by_login(session, login)
    if user is None:
        raise NotFound(f"no user {login!r}", login=login)
    token = secrets.token_urlsafe(32)
    await repo.add_token(session, user.id, token_digest(token))
    await session.commit()
    return token


async def user_for_token(session: AsyncSession, token: str) -> UserRecord | None:
    if not token:
        return None
    return await repo.by_token_hash(session, token_digest(token))
