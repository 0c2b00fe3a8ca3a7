"""`/customers`: find a customer by name, phone, Telegram id, e-mail or ticket; and
`/customers/{id}`: their profile as a page (the same sections as the JSON profile, audited
alike), where supervisors and admins change the tier or the blacklist through forms."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDict

from callcenter.api_customers import profile_sections
from callcenter.console_auth import check_form
from callcenter.console_pages import render_page, require_page_user
from callcenter.keys import SESSIONS, SETTINGS
from callcenter.params import path_id, query_int
from callcenter.serialize import read_form
from callcenter.settings import tier_limits
from callcenter.web_errors import status_for
from handlers import customer_search, customers
from handlers.customers import Amendment
from handlers.errors import DomainError, Forbidden, InvalidInput, NotFound, QuotaExceeded
from handlers.inbox import lifecycle
from handlers.roles import ADMIN, MANAGERS, STAFF
from storage.complaints import OPEN_STATES
from storage.models.base import utcnow
from storage.users import UserRecord
from templates.i18n import N_

VIA = "console"

# What the page says for a refused search or change, by the field the use case names
# (English source, translated where shown); anything else shows the use case's message.
EXPLAINED = {
    "q": N_("A search is at most 200 characters of plain text."),
    "page": N_("There is no such page of results."),
    "reason": N_("Give a reason: it is kept in the customer's history."),
    "tier": N_("Choose one of the tiers."),
}
FORCE_REFUSED = N_("Only an administrator may force a tier past its quota.")
NO_SUCH_CUSTOMER = N_("There is no such customer.")


def _explain(problem: DomainError) -> str:
    if isinstance(problem, Forbidden):
        return FORCE_REFUSED
    return EXPLAINED.get(str(problem.details.get("field")), problem.message)


def _quota(problem: DomainError) -> dict[str, str] | None:
    """A quota refusal's figures, for the page to say in the user's words."""
    if not isinstance(problem, QuotaExceeded):
        return None
    found = problem.details
    return {
        "tier": str(found["tier"]),
        "count": f"{found['count']:,}",
        "total": f"{found['total']:,}",
        "share": f"{found['share']:.1%}",
        "limit": f"{found['limit']:.0%}",
    }


async def search_page(request: web.Request) -> web.Response:
    user = await require_page_user(request, *STAFF)
    query = request.query.get("q", "")
    found, error, status = None, None, 200
    if query.strip():
        try:
            page = query_int(request, "page", low=1, high=customer_search.MAX_PAGE) or 1
            async with request.app[SESSIONS]() as session:
                found = await customer_search.search(
                    session, user, query, page=page, region=request.app[SETTINGS].default_region, via=VIA
                )
        except InvalidInput as problem:
            error, status = _explain(problem), 400
    if found is not None and found.exact and len(found.rows) == 1:
        # A ticket, a phone or a Telegram id names one customer: the user wants them.
        raise web.HTTPSeeOther(f"/customers/{found.rows[0].id}")
    return await render_page(
        request, "console/customers.html.j2", user, status=status, q=query, found=found, error=error
    )


async def _profile_page(
    request: web.Request,
    user: UserRecord,
    *,
    status: int = 200,
    problem: DomainError | None = None,
    form: MultiDict[str] | None = None,
) -> web.Response:
    try:
        customer_id = path_id(request, "customer_id")
        async with request.app[SESSIONS]() as session:
            record = await customers.get_profile(session, user, customer_id, via=VIA)
            sections = await profile_sections(request.app, session, record.id)
    except (NotFound, InvalidInput):
        return await render_page(
            request, "console/customers.html.j2", user, status=404, q="", found=None, error=NO_SUCH_CUSTOMER
        )
    complaints: list[Any] = sections.get("complaints", [])
    return await render_page(
        request,
        "console/customer.html.j2",
        user,
        status=status,
        customer=record,
        sections=sections,
        # The one due first on top: that is the one to act on.
        open_complaints=sorted(
            (c for c in complaints if c.state in OPEN_STATES),
            key=lambda c: (c.resolve_due_at is None, c.resolve_due_at or c.created_at),
        ),
        spend=sum(h.monthly_spend for h in record.holdings),
        can_change=user.role in MANAGERS,
        can_force=user.role == ADMIN,
        tiers=customers.TIERS,
        error=None if problem is None or isinstance(problem, QuotaExceeded) else _explain(problem),
        quota=None if problem is None else _quota(problem),
        form=form or MultiDict(),
        now=utcnow(),
    )


async def profile_page(request: web.Request) -> web.Response:
    return await _profile_page(request, await require_page_user(request, *STAFF))


async def conversation_page(request: web.Request) -> web.Response:
    """`/customers/{id}/conversations/{conversation_id}`: a chat's transcript from the profile;
    reading it is audited (`conversation.read`), and an agent reads the chats they hold."""
    user = await require_page_user(request, *STAFF)
    customer_id = path_id(request, "customer_id")
    async with request.app[SESSIONS]() as session:
        transcript = await lifecycle.read(
            session, user, path_id(request, "conversation_id"), via=VIA, customer_id=customer_id
        )
    return await render_page(
        request,
        "console/conversation.html.j2",
        user,
        c=transcript.conversation,
        messages=transcript.messages,
    )


async def _change(
    request: web.Request, change: Amendment, user: UserRecord, form: MultiDict[str]
) -> web.Response:
    """The use case the API's PATCH runs, under the same quotas; refused, the page again with
    the reason and what was typed kept."""
    try:
        async with request.app[SESSIONS]() as session:
            await customers.amend(
                session,
                user,
                path_id(request, "customer_id"),
                change,
                limits=tier_limits(request.app[SETTINGS]),
                via=VIA,
            )
    except DomainError as problem:
        return await _profile_page(request, user, status=status_for(problem), problem=problem, form=form)
    raise web.HTTPSeeOther(request.path.rsplit("/", 1)[0])


async def _manager_form(request: web.Request) -> tuple[UserRecord, MultiDict[str]]:
    user = await require_page_user(request, *MANAGERS)
    form = await read_form(request)
    await check_form(request, form)
    return user, form


async def change_tier(request: web.Request) -> web.Response:
    user, form = await _manager_form(request)
    change = Amendment(
        tier=form.get("tier", ""), reason=form.get("reason", ""), force=form.get("force") == "yes"
    )
    return await _change(request, change, user, form)


async def change_blacklist(request: web.Request) -> web.Response:
    user, form = await _manager_form(request)
    change = Amendment(blacklisted=form.get("blacklisted") == "yes", reason=form.get("reason", ""))
    return await _change(request, change, user, form)


def setup(app: web.Application) -> None:
    app.router.add_get("/customers", search_page)
    app.router.add_get("/customers/{customer_id}", profile_page)
    app.router.add_get("/customers/{customer_id}/conversations/{conversation_id}", conversation_page)
    app.router.add_post("/customers/{customer_id}/tier", change_tier)
    app.router.add_post("/customers/{customer_id}/blacklist", change_blacklist)
