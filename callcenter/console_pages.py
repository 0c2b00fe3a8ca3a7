"""What every console page shares: who may open it, where a stranger is sent, the 403 page,
and the navigation bar listing the pages the signed-in user's role may open."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from callcenter.auth import current_user, login_redirect
from callcenter.console_auth import csrf_token, home_for
from handlers import audit
from handlers.roles import MANAGERS, STAFF
from storage.users import UserRecord
from templates import render


@dataclass(frozen=True)
class NavLink:
    label: str
    href: str
    roles: frozenset[str]


# The console's pages, in the bar's order, each with the roles that may open it.
PAGES = (
    NavLink("Agent", "/agent", STAFF),
    NavLink("Supervisor", "/supervisor", MANAGERS),
    NavLink("Campaigns", "/supervisor/campaigns", MANAGERS),
    NavLink("Satisfaction", "/supervisor/satisfaction", MANAGERS),
    NavLink("Audit", "/supervisor/audit", audit.READERS),
)


def nav_for(user: UserRecord, path: str) -> list[dict[str, object]]:
    return [
        {"label": link.label, "href": link.href, "current": link.href == path}
        for link in PAGES
        if user.role in link.roles
    ]


async def render_page(
    request: web.Request, template: str, user: UserRecord, *, status: int = 200, **context: object
) -> web.Response:
    """A console page: the template with the navigation bar's parts (user, links, CSRF token)."""
    html = render(
        template,
        user=user,
        nav=nav_for(user, request.path),
        home=home_for(user),
        csrf=await csrf_token(request),
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
