"""Console sign-in: a login form, a session held on the server, sign-out.

The encrypted cookie (aiohttp-session) carries a random token naming a `user_sessions` row,
so signing out or disabling the user ends it on every instance. The cookie is SameSite=Strict,
Secure behind an https public URL, and every form carries a per-session CSRF token."""

from __future__ import annotations

import hmac
import math
import secrets
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp_session import get_session, new_session
from aiohttp_session import setup as setup_sessions
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet
from yarl import URL

from callcenter.auth import LOADERS, SESSION_DIGEST, current_user, signed_by_bearer
from callcenter.client_address import client_address
from callcenter.keys import SESSIONS, SETTINGS
from callcenter.serialize import read_form
from callcenter.settings import Settings
from handlers import user_sessions
from handlers.accounts import token_digest
from handlers.errors import TooManyAttempts
from handlers.passwords import Passwords
from handlers.roles import AGENT
from handlers.sign_in import SignInLimits, sign_in
from storage.models.base import utcnow
from storage.users import UserRecord
from templates import render
from templates.i18n import LANGUAGE_CHOICES, N_, console_language

SID_KEY = "sid"  # the cookie's random session id; the database keeps its SHA-256
CSRF_KEY = "csrf"
LANGUAGE_KEY = "lang"  # this browser's choice of the console's language before anyone signs in
PASSWORDS = web.AppKey("passwords", Passwords)


def home_for(user: UserRecord) -> str:
    return "/agent" if user.role == AGENT else "/supervisor"


def safe_next(raw: object) -> str | None:
    """Where to go after signing in, if it is a path on this site; None for anything else.

    Only a path with one leading slash: `//evil.example` and `/\\evil.example` are another host
    to a browser, which also drops tabs and newlines, so no whitespace or backslash at all."""
    text = str(raw or "")
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return None
    if any(c.isspace() or not c.isprintable() for c in text):
        return None
    try:
        url = URL(text)
    except ValueError:
        return None
    return text if not url.scheme and not url.host else None


async def root(request: web.Request) -> web.StreamResponse:
    """`/`: a signed-in user's own home, the login form for anyone else."""
    user = await current_user(request)
    raise web.HTTPSeeOther(home_for(user) if user is not None else "/login")


def _max_age(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.session_max_age_seconds)


def _limits(settings: Settings) -> SignInLimits:
    return SignInLimits(
        login_max_failures=settings.login_max_failures,
        address_max_failures=settings.address_max_failures,
        window=timedelta(seconds=settings.login_failure_window_seconds),
        lockout=timedelta(seconds=settings.login_lockout_seconds),
    )


async def cookie_user(request: web.Request) -> UserRecord | None:
    session = await get_session(request)
    token = session.get(SID_KEY)
    if not token:
        return None
    async with request.app[SESSIONS]() as db:
        return await user_sessions.user_for(db, str(token), max_age=_max_age(request.app[SETTINGS]))


async def cookie_session_digest(request: web.Request) -> str | None:
    """The digest naming the `user_sessions` row this request's cookie carries."""
    session = await get_session(request)
    token = session.get(SID_KEY)
    return token_digest(str(token)) if token else None


async def csrf_token(request: web.Request) -> str:
    session = await get_session(request)
    if CSRF_KEY not in session:
        session[CSRF_KEY] = secrets.token_urlsafe(24)
    return str(session[CSRF_KEY])


async def check_csrf(request: web.Request, submitted: str | None) -> None:
    session = await get_session(request)
    expected = str(session.get(CSRF_KEY, ""))
    if not expected or not hmac.compare_digest(expected, submitted or ""):
        raise web.HTTPForbidden(text="the form has expired; reload the page and try again")


async def check_form(request: web.Request, form: Mapping[str, object]) -> None:
    """The CSRF check for a form post, skipped only for a request a valid bearer token
    identified: another site can make a browser send its cookie, never our token."""
    if not await signed_by_bearer(request):
        await check_csrf(request, str(form.get("csrf", "")))


async def browser_language(request: web.Request) -> str:
    """The language this browser chose, else the operator's default."""
    session = await get_session(request)
    return console_language(session.get(LANGUAGE_KEY), request.app[SETTINGS].console_language)


async def _form(
    request: web.Request, *, status: int = 200, headers: Mapping[str, str] | None = None, **page: object
) -> web.Response:
    context: dict[str, object] = {"error": None, "locked": None, "next": None, **page}
    html = render(
        "console/login.html.j2",
        language=await browser_language(request),
        csrf=await csrf_token(request),
        languages=LANGUAGE_CHOICES,
        here=request.path_qs,
        **context,
    )
    return web.Response(text=html, content_type="text/html", status=status, headers=headers)


async def login_page(request: web.Request) -> web.Response:
    return await _form(request, next=safe_next(request.query.get("next")))


def _when(refused: TooManyAttempts, settings: Settings) -> dict[str, object]:
    until = (utcnow() + timedelta(seconds=refused.retry_after)).astimezone(ZoneInfo(settings.timezone))
    return {"minutes": math.ceil(refused.retry_after / 60), "at": until.strftime("%H:%M")}


async def login(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    await check_csrf(request, str(form.get("csrf", "")))
    settings = request.app[SETTINGS]
    going = safe_next(form.get("next"))
    try:
        async with request.app[SESSIONS]() as db:
            user = await sign_in(
                db,
                request.app[PASSWORDS],
                _limits(settings),
                login=str(form.get("login", "")),
                password=str(form.get("password", "")),
                address=client_address(request, settings.trusted_proxies),
            )
    except TooManyAttempts as refused:
        return await _form(
            request,
            status=429,
            headers={"Retry-After": str(refused.retry_after)},
            locked=_when(refused, settings),
            next=going,
        )
    if user is None:
        return await _form(request, status=401, error=N_("Wrong login or password."), next=going)
    async with request.app[SESSIONS]() as db:
        token = await user_sessions.start(db, user, max_age=_max_age(settings))
    session = await new_session(request)  # a fresh cookie: no fixation
    session[SID_KEY] = token
    session[CSRF_KEY] = secrets.token_urlsafe(24)
    raise web.HTTPFound(going or home_for(user))


async def logout(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    await check_csrf(request, str(form.get("csrf", "")))
    session = await get_session(request)
    token = session.get(SID_KEY)
    if token:
        async with request.app[SESSIONS]() as db:
            await user_sessions.end(db, str(token))  # a copy of the cookie dies with it
    session.invalidate()
    raise web.HTTPFound("/login")


async def _passwords(app: web.Application) -> AsyncIterator[None]:
    app[PASSWORDS] = Passwords(app[SETTINGS].password_hash_workers)
    yield
    app[PASSWORDS].close()


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    key = settings.session_key or Fernet.generate_key().decode()
    setup_sessions(
        app,
        EncryptedCookieStorage(
            key,
            cookie_name="contactdesk_session",
            httponly=True,
            samesite="Strict",
            secure=(settings.public_url or "").lower().startswith("https://"),
            max_age=settings.session_max_age_seconds,
        ),
    )
    app.cleanup_ctx.append(_passwords)
    app[LOADERS].append(cookie_user)
    app[SESSION_DIGEST] = cookie_session_digest
    app.router.add_get("/", root)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
