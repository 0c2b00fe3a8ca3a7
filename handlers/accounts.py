"""Users and credentials: saving users, API tokens, disabling an account."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import InvalidInput, NotFound
from handlers.passwords import hash_password
from handlers.roles import ROLES
from storage import user_sessions
from storage import users as repo
from storage.models.base import utcnow
from storage.sign_in_checks import Credential, stands
from storage.users import Actor, UserRecord


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
    # Off the event loop: hashing takes a slice of a second of CPU by design.
    password_hash = await asyncio.to_thread(hash_password, password)
    user = await repo.upsert(
        session,
        login,
        password_hash=password_hash,
        role=role,
        name=name,
        skills=skills,
        languages=languages,
    )
    await session.commit()
    return user


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


async def credential_stands(session: AsyncSession, credential: Credential | None) -> bool:
    """Whether what a long-lived request signed in with still stands for the same user: the
    token not revoked, the console session not ended nor expired, the user not disabled."""
    return credential is not None and await stands(session, credential, utcnow())


async def disable_user(session: AsyncSession, login: str, actor: Actor) -> UserRecord:
    """Close an account now: its console sessions end and its API tokens are revoked, so
    nothing it held works again, even if the account is enabled later."""
    user = await repo.deactivate(session, login)
    if user is None:
        raise NotFound(f"no user {login!r}", login=login)
    sessions_ended = await user_sessions.end_all_for_user(session, user.id, utcnow())
    tokens_revoked = await repo.delete_tokens(session, user.id)
    await repo.audit(
        session,
        actor=actor,
        action="user.disable",
        customer_id=None,
        subject_type="user",
        subject_id=user.id,
        details={"login": user.login, "sessions_ended": sessions_ended, "tokens_revoked": tokens_revoked},
    )
    await session.commit()
    return user
