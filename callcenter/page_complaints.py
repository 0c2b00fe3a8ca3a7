"""`/complaints`: the workbench. The list (filters, search, paged, soonest deadline first) and
one complaint as a case page whose forms move it on, assign it and add notes, each through
the same use cases as the JSON API; a Telegram photo is fetched through the bot."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

from aiogram.exceptions import TelegramAPIError
from aiohttp import web

from callcenter.complaints_setup import POLICY
from callcenter.console_auth import check_csrf
from callcenter.console_pages import render_page, require_page_user
from callcenter.keys import SESSIONS, SETTINGS
from callcenter.serialize import read_form
from callcenter.telegram_webhook import BOT
from callcenter.web_errors import status_for
from handlers import complaints
from handlers.complaints import workbench
from handlers.complaints.workbench import PAGE_SIZE
from handlers.customers import TIERS
from handlers.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from handlers.inputs import money
from handlers.roles import STAFF
from storage.audit import Actor
from storage.models.base import utcnow
from storage.users import UserRecord
from templates.i18n import N_

# The use cases' refusals are in the console catalogue when their text is literal; these are
# built from a name (`unknown {name}`), so they are marked here to be translated.
NAMED_REFUSALS = (N_("unknown severity"), N_("unknown category"), N_("unknown channel"), N_("unknown tier"))
# A move's refusal names the states by code: the page says it in a sentence instead.
MOVE_REFUSED: dict[type[DomainError], str] = {
    Forbidden: N_("Your role may not make this move."),
    Conflict: N_("The complaint has moved on since this page was loaded; that step is no longer possible."),
}
MISSING = N_("There is no complaint with that ticket.")
FILTERS = ("q", "state", "severity", "category", "overdue", "assignee", "tier", "channel")
TELEGRAM_PHOTO = "telegram:"


def _page_link(asked: Mapping[str, str], page: int) -> str:
    kept = {name: asked[name] for name in FILTERS if asked.get(name)}
    return "/complaints?" + urlencode({**kept, "page": page})


async def list_page(request: web.Request) -> web.Response:
    user = await require_page_user(request, *STAFF)
    asked = {name: request.query.get(name, "") for name in (*FILTERS, "page")}
    async with request.app[SESSIONS]() as session:
        people = await workbench.assignees(session)
        try:
            query = workbench.parse_list_query(
                asked,
                policy=request.app[POLICY],
                region=request.app[SETTINGS].default_region,
                now=utcnow(),
                assignees={u.login: u.id for u in people},
            )
        except DomainError as problem:
            return await _list(request, user, people, asked, error=problem.message, status=400)
        found = await workbench.list_page(session, Actor.of(user, "console"), query)
    return await _list(
        request,
        user,
        people,
        query.asked,
        rows=found.rows,
        previous=_page_link(query.asked, found.page - 1) if found.page > 1 else None,
        next=_page_link(query.asked, found.page + 1) if found.has_next else None,
        first=(found.page - 1) * PAGE_SIZE + 1,
    )


async def _list(
    request: web.Request,
    user: UserRecord,
    people: list[UserRecord],
    asked: Mapping[str, str],
    *,
    status: int = 200,
    **context: object,
) -> web.Response:
    shown: dict[str, object] = {"rows": [], "previous": None, "next": None, "first": 0, "error": None}
    return await render_page(
        request,
        "console/complaints.html.j2",
        user,
        status=status,
        asked={**dict.fromkeys(FILTERS, ""), **asked},
        people=people,
        choices={
            "state": complaints.STATES,
            "severity": complaints.SEVERITIES,
            "category": request.app[POLICY].categories,
            "tier": TIERS,
            "channel": complaints.CHANNELS,
        },
        now=utcnow(),
        **{**shown, **context},
    )


def _deadline(due: datetime | None, done: bool, now: datetime) -> dict[str, object] | None:
    """A deadline as the page shows it: when, and the whole minutes left (negative once
    breached); a step already taken shows no countdown."""
    if due is None:
        return None
    return {"at": due, "done": done, "minutes": int((due - now).total_seconds() // 60)}


async def _case_page(
    request: web.Request,
    user: UserRecord,
    *,
    error: str | None = None,
    kept: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    async with request.app[SESSIONS]() as session:
        case = await workbench.open_case(session, user, request.match_info["ticket"])
    complaint = case.complaint
    now = utcnow()
    return await render_page(
        request,
        "console/complaint.html.j2",
        user,
        status=status,
        case=case,
        complaint=complaint,
        customer=case.customer,
        phones=[i.value for i in case.customer.identities if i.kind == "phone"],
        photos=[n for n, ref in enumerate(complaint.attachments) if ref.startswith(TELEGRAM_PHOTO)],
        acknowledge=_deadline(complaint.acknowledge_due_at, complaint.state != "received", now),
        resolve=_deadline(complaint.resolve_due_at, complaint.state in ("resolved", "closed"), now),
        error=error,
        kept=kept or {},
    )


async def case_page(request: web.Request) -> web.Response:
    user = await require_page_user(request, *STAFF)
    try:
        return await _case_page(request, user)
    except NotFound:
        return await _missing(request, user)


async def _missing(request: web.Request, user: UserRecord) -> web.Response:
    """A ticket nobody lodged (a typo, an old link): the list with the message, as a 404."""
    async with request.app[SESSIONS]() as session:
        people = await workbench.assignees(session)
    return await _list(request, user, people, {"state": workbench.OPEN}, error=MISSING, status=404)


async def _complaint_id(request: web.Request) -> int:
    async with request.app[SESSIONS]() as session:
        return await workbench.id_for_ticket(session, request.match_info["ticket"])


async def _act(request: web.Request, act: str) -> web.StreamResponse:
    """Each form: checked, handed to its use case, and answered with a 303 back to the case;
    a refusal re-renders the case with the message and the form as it was filled in."""
    user = await require_page_user(request, *STAFF)
    form = await read_form(request)
    await check_csrf(request, str(form.get("csrf", "")))
    kept = {name: str(value) for name, value in form.items() if name != "csrf"}
    try:
        complaint_id = await _complaint_id(request)
    except NotFound:
        return await _missing(request, user)
    try:
        async with request.app[SESSIONS]() as session:
            if act == "move":
                await complaints.transition(
                    session,
                    user,
                    complaint_id,
                    kept.get("to", ""),
                    note=kept.get("note") or None,
                    resolution=kept.get("resolution"),
                    compensation=kept.get("compensation") or None,
                    compensation_amount=_amount(kept.get("compensation_amount")),
                    policy=request.app[POLICY],
                )
            elif act == "assign":
                await complaints.assign(
                    session,
                    user,
                    complaint_id,
                    assignee_login=kept.get("assignee") or None,
                    department=kept.get("department", ""),
                )
            else:
                await complaints.add_note(session, user, complaint_id, kept.get("note", ""))
    except DomainError as problem:
        return await _case_page(
            request, user, error=_refusal(problem, act), kept={**kept, "act": act}, status=status_for(problem)
        )
    raise web.HTTPSeeOther(f"/complaints/{request.match_info['ticket']}#timeline")


def _amount(raw: str | None) -> Decimal | None:
    """A compensation's sum as typed; above the operator's limit it waits for approval."""
    if not (raw or "").strip():
        return None
    amount = money(raw)
    if amount is None:
        raise InvalidInput(
            "the compensation amount is a sum of money, e.g. 150 or 99.50", field="compensation_amount"
        )
    return amount


def _refusal(problem: DomainError, act: str) -> str:
    if act == "move":
        for kind, sentence in MOVE_REFUSED.items():
            if isinstance(problem, kind):
                return sentence
    return problem.message


async def move(request: web.Request) -> web.StreamResponse:
    return await _act(request, "move")


async def assign(request: web.Request) -> web.StreamResponse:
    return await _act(request, "assign")


async def note(request: web.Request) -> web.StreamResponse:
    return await _act(request, "note")


async def photo(request: web.Request) -> web.StreamResponse:
    """A Telegram photo attached to a complaint, fetched through the bot: Telegram keeps the
    file, we keep its id, and the bot's token never reaches the browser."""
    await require_page_user(request, *STAFF)
    try:
        async with request.app[SESSIONS]() as session:
            complaint_id = await workbench.id_for_ticket(session, request.match_info["ticket"])
            detail = await complaints.get(session, complaint_id)
    except NotFound as missing:
        raise web.HTTPNotFound(text="no such complaint") from missing
    index = int(request.match_info["index"])
    refs = detail.complaint.attachments
    bot = request.app.get(BOT)
    if index >= len(refs) or not refs[index].startswith(TELEGRAM_PHOTO) or bot is None:
        raise web.HTTPNotFound(text="no such photo")
    try:
        found = await bot.get_file(refs[index].removeprefix(TELEGRAM_PHOTO))
        data = await bot.download_file(found.file_path or "")
    except TelegramAPIError as error:
        raise web.HTTPBadGateway(text="Telegram did not hand over the photo; try again later") from error
    body = data.read() if data is not None else b""
    return web.Response(
        body=body, content_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/complaints", list_page)
    app.router.add_get("/complaints/{ticket}", case_page)
    app.router.add_post("/complaints/{ticket}/move", move)
    app.router.add_post("/complaints/{ticket}/assign", assign)
    app.router.add_post("/complaints/{ticket}/note", note)
    app.router.add_get(r"/complaints/{ticket}/photos/{index:\d{1,2}}", photo)
