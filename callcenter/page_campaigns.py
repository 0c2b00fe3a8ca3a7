"""`/supervisor/campaigns`: schedule a campaign from a form (the audience counted as it is
chosen), watch live progress bars, pause, resume or cancel; ended campaigns beyond the latest
twenty are a link away. Forms carry the session's CSRF token; the bars poll the JSON API."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from callcenter import campaign_form
from callcenter.console_auth import check_csrf
from callcenter.console_pages import render_page, require_page_user
from callcenter.keys import SESSIONS, SETTINGS
from callcenter.params import path_id, query_int
from callcenter.serialize import json_response, read_form
from callcenter.web_errors import json_error
from handlers import campaigns, offers, questionnaires
from handlers.customers import TIERS
from handlers.errors import DomainError, InvalidInput
from handlers.roles import MANAGERS
from storage.users import UserRecord
from templates.i18n import N_


async def _supervisor(request: web.Request) -> UserRecord:
    return await require_page_user(request, *MANAGERS)


def _field(problem: DomainError) -> str | None:
    """The form field a refusal is about (the API's "audience.cap" is the form's "cap")."""
    field = problem.details.get("field")
    if not field:
        return None
    name = str(field).removeprefix("audience.")
    return campaign_form.FORM_NAMES.get(name, name)


async def campaigns_page(
    request: web.Request,
    problem: DomainError | None = None,
    status: int = 200,
    typed: dict[str, Any] | None = None,
) -> web.Response:
    user = await _supervisor(request)
    try:
        before = query_int(request, "before", low=1)
    except InvalidInput:
        before, status = None, 400
        problem = InvalidInput(N_("that link to older campaigns is broken; these are the latest"))
    async with request.app[SESSIONS]() as session:
        found = await campaigns.overview(session, before)
        on_sale = await offers.on_sale(session)
        products = await offers.products(session)
        await questionnaires.ensure_templates(session)
        surveys = await questionnaires.list_all(session)
    return await render_page(
        request,
        "console/campaigns.html.j2",
        user,
        status=status,
        rows=found.rows,
        older=found.older,
        paged=before is not None,
        problem=None if problem is None else {"field": _field(problem), "message": problem.message},
        actions=campaigns.MOVES,
        values=typed or campaign_form.BLANK,
        offers=on_sale,
        questionnaires=surveys,
        products=products,
        tiers=TIERS,
        form_fields=campaign_form.FIELDS,
    )


async def create_from_form(request: web.Request) -> web.StreamResponse:
    user = await _supervisor(request)
    form = await read_form(request)
    await check_csrf(request, str(form.get("csrf", "")))
    try:
        spec = campaign_form.spec(form, ZoneInfo(request.app[SETTINGS].timezone))
        async with request.app[SESSIONS]() as session:
            await campaigns.create(session, spec, created_by=user.id, schedule=True)
    except DomainError as problem:
        return await campaigns_page(request, problem, status=400, typed=campaign_form.typed(form))
    raise web.HTTPSeeOther("/supervisor/campaigns")


async def count_audience(request: web.Request) -> web.Response:
    """How many customers the form's audience reaches now, counted as the campaign would
    count them; the page asks as the filters change, posting the form itself (so its CSRF
    token comes along)."""
    await _supervisor(request)
    form = await read_form(request)
    await check_csrf(request, str(form.get("csrf", "")))
    try:
        audience = campaign_form.audience(form)
        async with request.app[SESSIONS]() as session:
            count = await campaigns.count_audience(session, str(form.get("kind", "")), audience)
    except DomainError as problem:
        return json_error(400, problem.error_id, problem.message, field=_field(problem))
    return json_response({"count": count})


async def act_from_form(request: web.Request) -> web.StreamResponse:
    await _supervisor(request)
    campaign_id = path_id(request, "campaign_id")
    form = await read_form(request)
    await check_csrf(request, str(form.get("csrf", "")))
    try:
        async with request.app[SESSIONS]() as session:
            await campaigns.act(session, campaign_id, request.match_info["action"])
    except DomainError as problem:
        return await campaigns_page(request, problem, status=409)
    raise web.HTTPSeeOther("/supervisor/campaigns")


def setup(app: web.Application) -> None:
    app.router.add_get("/supervisor/campaigns", campaigns_page)
    app.router.add_post("/supervisor/campaigns", create_from_form)
    app.router.add_post("/supervisor/campaigns/audience", count_audience)
    app.router.add_post(
        "/supervisor/campaigns/{campaign_id}/{action:schedule|pause|resume|cancel}", act_from_form
    )
