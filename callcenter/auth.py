"""Who is asking: bearer tokens for the API (the console adds its session cookie)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from callcenter.keys import SESSIONS
from handlers.accounts import user_for_token
from storage.users import UserRecord


@dataclass(frozen=True)
class _Auth:
    user: UserRecord | None


# Who made this request, looked up once per request.
AUTH = web.RequestKey("auth", _Auth)

# Other ways to recognise a user (the console's cookie session) register here.
UserLoader = Callable[[web.Request], Awaitable[UserRecord | None]]
LOADERS = web.AppKey("user_loaders", list[UserLoader])


async def bearer_user(request: web.Request) -> UserRecord | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    async with request.app[SESSIONS]() as session:
        return await user_for_token(session, token.strip())


async def current_user(request: web.Request) -> UserRecord | None:
    if AUTH in request:
        return request[AUTH].user
    user = await bearer_user(request)
    if user is None:
        for loader in request.app.get(LOADERS, []):
            user = await loader(request)
            if user is not None:
                break
    request[AUTH] = _Auth(user)
    return user


async def require_user(request: web.Request, *roles: str) -> UserRecord:
    """The signed-in user, or 401; with roles given, 403 for anyone else."""
    user = await current_user(request)
    if user is None:
        raise web.HTTPUnauthorized(
            text='{"error": "unauthenticated", "message": "sign in or send Authorization: Bearer TOKEN"}',
            content_type="application/json",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if roles and user.role not in roles:
        raise web.HTTPForbidden(
            text='{"error": "forbidden", "message": "your role may not do this"}',
            content_type="application/json",
        )
    return user


async def require_page_user(request: web.Request, *roles: str) -> UserRecord:
    """For HTML pages: a stranger is sent to the login form; with roles given, 403 for anyone else."""
    user = await current_user(request)
    if user is None:
        raise web.HTTPFound("/login")
    if roles and user.role not in roles:
        raise web.HTTPForbidden(text="your role may not open this page")
    return user
