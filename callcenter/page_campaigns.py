"""`/supervisor/campaigns`: schedule a campaign from a form, watch live progress bars,
pause, resume or cancel; ended campaigns beyond the latest twenty are a link away. Forms
carry the session's CSRF token; the bars poll the JSON API."""

from __future__ import annotations

from aiohttp import web

from callcenter.console_auth import check_csrf
from callcenter.console_pages import render_page, require_page_user
from callcenter.keys import SESSIONS
from callcenter.params import path_id, query_int
from callcenter.serialize import read_form
from handlers import campaigns
from handlers.campaigns import CampaignSpec
from handlers.errors import DomainError, InvalidInput
from handlers.roles import MANAGERS
from storage.users import UserRecord
from templates.i18n import N_


async def _supervisor(request: web.Request) -> UserRecord:
    return await require_page_user(request, *MANAGERS)


def _names(raw: object) -> list[str]:
    return [part.strip() for part in str(raw or "").split(",") if part.strip()]


async def campaigns_page(request: web.Request, error: str | None = None, status: int = 200) -> web.Response:
    user = await _supervisor(request)
    try:
        before = query_int(request, "before", low=1)
    except InvalidInput:
        before, status = None, 400
        error = N_("that link to older campaigns is broken; these are the latest")
    async with request.app[SESSIONS]() as session:
        found = await campaigns.overview(session, before)
    return await render_page(
        request,
        "console/campaigns.html.j2",
        user,
        status=status,
        rows=found.rows,
        older=found.older,
        paged=before is not None,
        error=error,
        actions=campaigns.MOVES,
    )


async def create_from_form(request: web.Request) -> web.StreamResponse:
    user = await _supervisor(request)
    form = await read_form(request)
    await check_csrf(request, str(form.get("csrf", "")))
    kind = str(form.get("kind", ""))
    messages = {lang: str(form.get(f"message_{lang}", "")) for lang in ("zh", "en")}
    audience: dict[str, object] = {}
    for key in ("tiers", "regions", "holds", "lacks"):
        if names := _names(form.get(key)):
            audience[key] = names
    try:
        spec = CampaignSpec(
            name=str(form.get("name", "")),
            kind=kind,
            channel=str(form.get("channel", "telegram")),
            messages={lang: text for lang, text in messages.items() if text.strip()},
            survey_kind=str(form.get("survey_kind") or "csat") if kind == "satisfaction" else None,
            offer_code=str(form.get("offer_code") or "") or None,
            audience=audience,
            hour_from=int(str(form.get("hour_from") or 9)),
            hour_to=int(str(form.get("hour_to") or 20)),
        )
        async with request.app[SESSIONS]() as session:
            await campaigns.create(session, spec, created_by=user.id, schedule=True)
    except ValueError:
        return await campaigns_page(request, N_("hours are whole numbers from 0 to 24"), status=400)
    except DomainError as problem:
        return await campaigns_page(request, problem.message, status=400)
    raise web.HTTPSeeOther("/supervisor/campaigns")


async def act_from_form(request: web.Request) -> web.StreamResponse:
    await _supervisor(request)
    campaign_id = path_id(request, "campaign_id")
    form = await read_form(request)
    await check_csrf(request, str(form.get("csrf", "")))
    try:
        async with request.app[SESSIONS]() as session:
            await campaigns.act(session, campaign_id, request.match_info["action"])
    except DomainError as problem:
        return await campaigns_page(request, problem.message, status=409)
    raise web.HTTPSeeOther("/supervisor/campaigns")


def setup(app: web.Application) -> None:
    app.router.add_get("/supervisor/campaigns", campaigns_page)
    app.router.add_post("/supervisor/campaigns", create_from_form)
    app.router.add_post(
        "/supervisor/campaigns/{campaign_id}/{action:schedule|pause|resume|cancel}", act_from_form
    )
