"""`GET /complaints/escalations`: the supervisors' queue of complaints that breached a
deadline and of compensations waiting for approval, oldest first; and
`POST /complaints/{complaint_id}/approval`, the approve and reject buttons of that queue and
of a complaint's page (console/complaint_approval.html.j2), answered with a 303 back."""

from __future__ import annotations

from aiohttp import web

from callcenter.complaints_setup import POLICY
from callcenter.console_auth import check_csrf, safe_next
from callcenter.console_pages import render_page, require_page_user
from callcenter.keys import SESSIONS
from callcenter.params import path_id
from callcenter.serialize import read_form
from callcenter.web_errors import status_for
from handlers import complaints
from handlers.errors import DomainError
from handlers.roles import MANAGERS
from storage.audit import Actor
from storage.models.base import utcnow

QUEUE = "/complaints/escalations"
# Of each part: more than a supervisor works through at a sitting; the oldest come first.
SHOWN = 50


async def queue_page(request: web.Request, error: str | None = None, status: int = 200) -> web.Response:
    user = await require_page_user(request, *MANAGERS)
    async with request.app[SESSIONS]() as session:
        queue = await complaints.escalations_queue(session, Actor.of(user, "console"), limit=SHOWN)
    return await render_page(
        request,
        "console/escalations.html.j2",
        user,
        status=status,
        queue=queue,
        shown=SHOWN,
        now=utcnow(),
        error=error,
        back=QUEUE,
    )


async def decide_from_form(request: web.Request) -> web.StreamResponse:
    user = await require_page_user(request, *MANAGERS)
    complaint_id = path_id(request, "complaint_id")
    form = await read_form(request)
    await check_csrf(request, str(form.get("csrf", "")))
    # Back to where the button was: this queue or the complaint's page, never another site.
    back = safe_next(form.get("back")) or QUEUE
    try:
        async with request.app[SESSIONS]() as session:
            await complaints.decide(
                session,
                user,
                "console",
                complaint_id,
                str(form.get("decision", "")),
                reason=str(form.get("reason", "")),
                policy=request.app[POLICY],
            )
    except DomainError as problem:
        return await queue_page(request, problem.message, status=status_for(problem))
    raise web.HTTPSeeOther(back)


def setup(app: web.Application) -> None:
    app.router.add_get(QUEUE, queue_page)
    app.router.add_post(r"/complaints/{complaint_id:\d+}/approval", decide_from_form)
