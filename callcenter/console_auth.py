"""Console sign-in: a login form, an encrypted session cookie (aiohttp-session), sign-out.

The cookie is SameSite=Strict and every form carries a per-session CSRF token."""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web
from aiohttp_session import get_session, new_session
from aiohttp_session import setup as setup_sessions
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from callcenter.auth import LOADERS
from callcenter.keys import SESSIONS, SETTINGS
from handlers.accounts import authenticate
from storage.users import UserRecord, get_by_login
from templates import render

LOGIN_KEY = "login"
CSRF_KEY = "csrf"


async def cookie_user(request: web.Request) -> UserRecord | None:
    session = await get_session(request)
    login = session.get(LOGIN_KEY)
    if not login:
        return None
    async with request.app[SESSIONS]() as db:
        user = await get_by_login(db, str(login))
    return user if user is not None and user.active else None


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


async def login_page(request: web.Request) -> web.Response:
    html = render("console/login.html.j2", csrf=await csrf_token(request), error=None)
    return web.Response(text=html, content_type="text/html")


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    await check_csrf(request, str(form.get("csrf", "")))
    async with request.app[SESSIONS]() as db:
        user = await authenticate(db, str(form.get("login", "")), str(form.get("password", "")))
    if user is None:
        html = render(
            "console/login.html.j2", csrf=await csrf_token(request), error="Wrong login or password."
        )
        return web.Response(text=html, content_type="text/html", status=401)
    session = await new_session(request)  # a fresh session id: no fixation
    session[LOGIN_KEY] = user.login
    session[CSRF_KEY] = secrets.token_urlsafe(24)
    raise web.HTTPFound("/agent" if user.role == "agent" else "/supervisor")


async def logout(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    await check_csrf(request, str(form.get("csrf", "")))
    session = await get_session(request)
    session.invalidate()
    raise web.HTTPFound("/login")


def setup(app: web.Application) -> None:
    key = app[SETTINGS].session_key or Fernet.generate_key().decode()
    setup_sessions(
        app,
        EncryptedCookieStorage(
            key, cookie_name="contactdesk_session", httponly=True, samesite="Strict", max_age=12 * 3600
        ),
    )
    app[LOADERS].append(cookie_user)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
