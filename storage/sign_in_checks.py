"""Whether a long-lived request's credential still stands, in one small statement.

A console socket is checked again before each push that reads a customer's record. Through
the ORM (storage/users.by_token_hash, storage/user_sessions.live) that check cost more CPU
than the card it guarded (issue 17), so here it is one Core statement built once, and, for
the card on PostgreSQL, a fragment of the card's own statement (storage/cards.py). Both
say what the ORM queries say: a token stands while its row exists and its user is active;
a console session while it is not ended, younger than the longest a session may live, and
its user active. A bearer token that stands is the request's credential whatever its
cookie holds, as in callcenter/auth.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiToken, User, UserSession
from storage.models.base import UTCDateTime


@dataclass(frozen=True)
class Credential:
    """What a request signed in with: `user_id`, the user it stood for then, and the digests
    of the bearer token and the console session it carries (None: not carried)."""

    user_id: int
    token_hash: str | None
    session_hash: str | None
    session_max_age: timedelta


_users = User.__table__
_tokens = ApiToken.__table__
_sessions = UserSession.__table__

_BY_TOKEN = (
    select(_tokens.c.user_id)
    .join(_users, _users.c.id == _tokens.c.user_id)
    .where(_tokens.c.token_hash == bindparam("token_hash"), _users.c.active.is_(True))
    .scalar_subquery()
)
_BY_SESSION = (
    select(_sessions.c.user_id)
    .join(_users, _users.c.id == _sessions.c.user_id)
    .where(
        _sessions.c.id == bindparam("session_hash"),
        _sessions.c.ended_at.is_(None),
        _sessions.c.created_at > bindparam("created_after", type_=UTCDateTime),
        _users.c.active.is_(True),
    )
    .scalar_subquery()
)
# Whom the credential stands for now (NULL: nobody); Core, so no ORM rows are built.
_WHO = select(func.coalesce(_BY_TOKEN, _BY_SESSION))


async def stands(session: AsyncSession, credential: Credential, now: datetime) -> bool:
    """Whether the credential still stands for the user it stood for."""
    connection = await session.connection()
    who = await connection.scalar(
        _WHO,
        {
            "token_hash": credential.token_hash,
            "session_hash": credential.session_hash,
            "created_after": now - credential.session_max_age,
        },
    )
    return who is not None and int(who) == credential.user_id


def stands_sql(user_id: str, token_hash: str, session_hash: str, created_after: str) -> str:
    """The same check as a PostgreSQL boolean expression over the given parameters (`$10`
    and so on), true when there is nothing to check (`user_id` NULL): for a statement that
    must read nothing for a credential that no longer stands."""
    return f"""coalesce({user_id}::bigint IS NULL OR coalesce(
        (SELECT t.user_id FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = {token_hash}::text AND u.active),
        (SELECT s.user_id FROM user_sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = {session_hash}::text AND s.ended_at IS NULL
           AND s.created_at > {created_after}::timestamptz AND u.active)
    ) = {user_id}::bigint, false)"""  # noqa: S608 - parameters' names, not values
