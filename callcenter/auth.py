"""Who is asking: bearer tokens for the API (the console adds its session cookie)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from yarl import URL

from callcenter.keys import SESSIONS, SETTINGS
from handlers.accounts import credential_stands, token_digest, user_for_token
from storage.sign_in_checks import Credential
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

# The digest of the console session a request carries (the cookie session registers it), for
# a statement to check that session again without the loader.
SessionDigest = Callable[[web.Request], Awaitable[str | None]]
SESSION_DIGEST: web.AppKey[SessionDigest] = web.AppKey("session_digest")

# What the request signed in with, worked out once.
CREDENTIAL = web.RequestKey("credential", Credential)


def _bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def bearer_user(request: web.Request) -> UserRecord | None:
    token = _bearer_token(request)
    if token is None:
        return None
    async with request.app[SESSIONS]() as session:
        return await user_for_token(session, token)


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


async def credential(request: web.Request) -> Credential | None:
    """What the request's user signed in with, for a statement to check again (None: nobody
    signed in): the same bearer token and console session `_authenticate` looks at."""
    if CREDENTIAL not in request:
        first = await current_user(request)
        if first is None:
            return None
        token = _bearer_token(request)
        session_digest = request.app.get(SESSION_DIGEST)
        request[CREDENTIAL] = Credential(
            user_id=first.id,
            token_hash=None if token is None else token_digest(token),
            session_hash=None if session_digest is None else await session_digest(request),
            session_max_age=timedelta(seconds=request.app[SETTINGS].session_max_age_seconds),
        )
    return request[CREDENTIAL]


async def credential_still_stands(request: web.Request) -> bool:
    """`still_signed_in` in one small statement, without touching the session's last-seen
    time (the socket's periodic check does that): before each push of a long-lived request."""
    found = await credential(request)
    if found is None:
        return False
    async with request.app[SESSIONS]() as session:
        return await credential_stands(session, found)


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
