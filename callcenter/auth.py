"""Who is asking: bearer tokens for the API (the console adds its session cookie)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from yarl import URL

from callcenter.keys import SESSIONS
from handlers.accounts import user_for_token
from storage.users import UserRecord


@dataclass(frozen=True)
class _Auth:
    user: UserRecord | None
    by_bearer: bool  # a valid bearer token, not merely an Authorization header


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


async def _authenticate(request: web.Request) -> _Auth:
    user = await bearer_user(request)
    by_bearer = user is not None
    if user is None:
        for loader in request.app.get(LOADERS, []):
            user = await loader(request)
            if user is not None:
                break
    return _Auth(user, by_bearer)


async def current_user(request: web.Request) -> UserRecord | None:
    if AUTH not in request:
        request[AUTH] = await _authenticate(request)
    return request[AUTH].user


async def still_signed_in(request: web.Request) -> bool:
    """Whether the credentials a long-lived request (a socket) came with still stand: the
    session not ended, the token not revoked, the user not disabled."""
    first = await current_user(request)
    now = (await _authenticate(request)).user
    return first is not None and now is not None and now.id == first.id


async def signed_by_bearer(request: web.Request) -> bool:
    """Whether a valid API token identified this request (a browser cannot be made to send one)."""
    await current_user(request)
    return request[AUTH].by_bearer


def login_redirect(request: web.Request) -> web.HTTPSeeOther:
    """To the login form, which brings the browser back here afterwards (a GET only: the
    form a POST came from is where the user was going, and it is not known here)."""
    if request.method in ("GET", "HEAD"):
        return web.HTTPSeeOther(str(URL("/login").with_query(next=request.rel_url.path_qs)))
    return web.HTTPSeeOther("/login")


def _browser_navigation(request: web.Request) -> bool:
    """A browser opening a console address itself (not a script, not the page's own fetch):
    it asks for HTML. The JSON API answers in JSON whoever asks."""
    return not request.path.startswith("/api/") and "text/html" in request.headers.get("Accept", "")


async def require_user(request: web.Request, *roles: str) -> UserRecord:
    """The signed-in user, or 401 (a browser is sent to the login form); with roles given,
    403 for anyone else."""
    user = await current_user(request)
    if user is None:
        if _browser_navigation(request):
            raise login_redirect(request)
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
