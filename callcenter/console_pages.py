"""What every console page shares: who may open it, where a stranger is sent, the 403 page,
the navigation bar listing the pages the signed-in user's role may open, and the language
and time zone a page is written in."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from aiohttp_session import get_session

from callcenter.auth import current_user, login_redirect
from callcenter.console_auth import (
    LANGUAGE_KEY,
    browser_language,
    check_csrf,
    csrf_token,
    home_for,
    safe_next,
)
from callcenter.keys import SESSIONS, SETTINGS
from callcenter.serialize import read_form
from handlers import audit, users
from handlers.roles import ADMIN, MANAGERS, STAFF
from storage.users import UserRecord
from templates import render
from templates.i18n import CONSOLE_LANGUAGES, LANGUAGE_CHOICES, N_, console_language


@dataclass(frozen=True)
class NavLink:
    label: str
    href: str
    roles: frozenset[str]


# The console's pages, in the bar's order, each with the roles that may open it.
PAGES = (
    NavLink(N_("Agent"), "/agent", STAFF),
    NavLink(N_("Complaints"), "/complaints", STAFF),
    NavLink(N_("Escalations"), "/complaints/escalations", MANAGERS),
    NavLink(N_("Customers"), "/customers", STAFF),
    NavLink(N_("Supervisor"), "/supervisor", MANAGERS),
    NavLink(N_("Campaigns"), "/supervisor/campaigns", MANAGERS),
    NavLink(N_("Satisfaction"), "/supervisor/satisfaction", MANAGERS),
    NavLink(N_("Tiers"), "/supervisor/tiers", MANAGERS),
    NavLink(N_("Audit"), "/supervisor/audit", audit.READERS),
    NavLink(N_("Users"), "/admin/users", frozenset({ADMIN})),
)


def nav_for(user: UserRecord, path: str) -> list[dict[str, object]]:
    """The bar for this role; the current page is the link that names the most of the path
    (/complaints/escalations is Escalations, /complaints/CD-… is Complaints)."""
    links = [link for link in PAGES if user.role in link.roles]
    here = max(
        (link.href for link in links if path == link.href or path.startswith(link.href + "/")),
        key=len,
        default=None,
    )
    return [{"label": link.label, "href": link.href, "current": link.href == here} for link in links]


async def page_language(request: web.Request, user: UserRecord | None) -> str:
    """The user's own choice, else this browser's, else the operator's default."""
    if user is not None and user.console_language:
        return console_language(user.console_language, request.app[SETTINGS].console_language)
    return await browser_language(request)


async def page_context(request: web.Request, user: UserRecord | None) -> dict[str, object]:
    """What every console template may use beyond its own context."""
    return {
        "language": await page_language(request, user),
        "timezone": request.app[SETTINGS].timezone,
        "languages": LANGUAGE_CHOICES,
        "csrf": await csrf_token(request),
        "here": request.path_qs,
    }


async def render_page(
    request: web.Request, template: str, user: UserRecord, *, status: int = 200, **context: object
) -> web.Response:
    """A console page: the template with the navigation bar's parts (user, links, CSRF token),
    in the user's language."""
    shared = await page_context(request, user)
    language = str(shared.pop("language"))
    html = render(
        template,
        language=language,
        user=user,
        nav=nav_for(user, request.path),
        home=home_for(user),
        **shared,
        **context,
    )
    return web.Response(text=html, content_type="text/html", status=status)


async def require_page_user(request: web.Request, *roles: str) -> UserRecord:
    """For HTML pages: a stranger is sent to the login form (and brought back after); with
    roles given, anyone else gets a 403 page with the way to their own home."""
    user = await current_user(request)
    if user is None:
        raise login_redirect(request)
    if roles and user.role not in roles:
        page = await render_page(request, "console/forbidden.html.j2", user, status=403)
        raise web.HTTPForbidden(text=page.text, content_type="text/html")
    return user


async def choose_language(request: web.Request) -> web.StreamResponse:
    """`POST /language`: remembered for the signed-in user (every browser they use), and for
    this browser before anyone signs in."""
    form = await read_form(request)
    await check_csrf(request, str(form.get("csrf", "")))
    language = str(form.get("language", ""))
    if language not in CONSOLE_LANGUAGES:
        raise web.HTTPBadRequest(text=f"language must be one of: {', '.join(CONSOLE_LANGUAGES)}")
    session = await get_session(request)
    session[LANGUAGE_KEY] = language
    user = await current_user(request)
    if user is not None:
        async with request.app[SESSIONS]() as db:
            await users.choose_console_language(db, user.id, language)
    raise web.HTTPSeeOther(safe_next(form.get("back")) or (home_for(user) if user else "/login"))


def setup(app: web.Application) -> None:
    app.router.add_post("/language", choose_language)
