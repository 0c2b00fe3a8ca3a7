"""`GET /supervisor/tiers`: the tier review's proposals for supervisors and admins, with the
figures behind each, filtered by state and direction; and `POST /supervisor/tiers/decide`,
the page's one form: the approve and reject buttons of a row, or of every row ticked (the
bulk form), through the same use cases as the API (handlers/tiers/decisions.py)."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from callcenter.api_tiers import DIRECTIONS, STATES, TIER_POLICY
from callcenter.console_auth import check_csrf, safe_next
from callcenter.console_pages import render_page, require_page_user
from callcenter.keys import CLOCK, SESSIONS
from callcenter.params import query_int
from callcenter.serialize import read_form
from callcenter.web_errors import status_for
from handlers.errors import DomainError, InvalidInput
from handlers.inputs import whole_number
from handlers.roles import MANAGERS
from handlers.tiers import decisions, queries
from templates.i18n import N_

PAGE = "/supervisor/tiers"
SHOWN = 50
STATE_WORDS = {
    "pending": N_("Waiting for a decision"),
    "approved": N_("Approved, not yet in effect"),
    "applied": N_("In effect"),
    "rejected": N_("Rejected"),
    "superseded": N_("Replaced by a newer review"),
}
DIRECTION_WORDS = {"up": N_("Upgrades"), "down": N_("Downgrades")}


def _filters(request: web.Request) -> dict[str, str]:
    state = request.query.get("state", "pending")
    direction = request.query.get("direction", "")
    return {
        "state": state if state in STATES else "pending",
        "direction": direction if direction in DIRECTIONS else "",
    }


def _years(since: date | None, today: date) -> str:
    if since is None:
        return ""
    return f"{(today - since).days / 365.25:.1f}"


async def tiers_page(
    request: web.Request,
    *,
    message: str | None = None,
    refused: dict[int, str] | None = None,
    status: int = 200,
) -> web.Response:
    user = await require_page_user(request, *MANAGERS)
    asked = _filters(request)
    after = query_int(request, "after") or 0
    async with request.app[SESSIONS]() as session:
        rows = await queries.proposals(
            session, state=asked["state"], direction=asked["direction"] or None, after=after, limit=SHOWN + 1
        )
        summary = await queries.overview(session)
    more = len(rows) > SHOWN
    rows = rows[:SHOWN]
    policy = request.app[TIER_POLICY]
    today = request.app[CLOCK]().date()
    return await render_page(
        request,
        "pages/tiers.html.j2",
        user,
        status=status,
        rows=rows,
        years={p.id: _years(p.customer_since, today) for p in rows},
        summary=summary,
        asked=asked,
        states=STATE_WORDS,
        directions=DIRECTION_WORDS,
        next_page=f"{PAGE}?{urlencode({**asked, 'after': rows[-1].id})}" if more and rows else None,
        first_page=f"{PAGE}?{urlencode(asked)}" if after else None,
        back=f"{PAGE}?{urlencode(asked)}",
        policy=policy,
        message=message,
        refused=refused or {},
    )


def _ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        number = whole_number(value, low=1)
        if number is None:
            raise InvalidInput("a proposal id is a whole number", field="ids")
        ids.append(number)
    return ids


async def decide_from_form(request: web.Request) -> web.StreamResponse:
    user = await require_page_user(request, *MANAGERS)
    form = await read_form(request)
    await check_csrf(request, str(form.get("csrf", "")))
    one = str(form.get("one", ""))  # a row's own button: "<id>:approve"
    try:
        if one:
            proposal, _, decision = one.partition(":")
            ids, chosen = _ids([proposal]), decision
        else:
            ids, chosen = _ids(form.getall("ids", [])), str(form.get("decision", ""))
        async with request.app[SESSIONS]() as session:
            outcome = await decisions.decide_many(
                session,
                user,
                ids,
                chosen,
                reason=str(form.get("reason", "")),
                policy=request.app[TIER_POLICY],
                now=request.app[CLOCK](),
                via="console",
            )
    except DomainError as problem:
        return await tiers_page(request, message=problem.message, status=status_for(problem))
    if outcome.refused:
        return await tiers_page(request, refused=outcome.refused, status=409 if not outcome.decided else 200)
    raise web.HTTPSeeOther(_back(form.get("back")))


def _back(value: Any) -> str:
    # Back to the page as it was filtered, never another site or page.
    text = safe_next(value) or PAGE
    return text if text.startswith(PAGE + "?") or text == PAGE else PAGE


def setup(app: web.Application) -> None:
    app.router.add_get(PAGE, tiers_page)
    app.router.add_post(PAGE + "/decide", decide_from_form)
