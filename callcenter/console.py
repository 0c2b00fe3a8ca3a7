"""The agent console (`/agent`, `/agent/ws`); the supervisor's wallboard is
callcenter/page_supervisor.py."""

from __future__ import annotations

from aiohttp import web

from callcenter import agent_views
from callcenter.agent_dispatch import dispatching
from callcenter.agent_socket import agent_socket
from callcenter.auth import require_user
from callcenter.complaints_setup import POLICY as COMPLAINT_POLICY
from callcenter.console_auth import check_form
from callcenter.console_pages import render_page, require_page_user
from callcenter.keys import EVENTS, INBOX_POLICY, SESSIONS
from callcenter.queue_board import QUEUE_BOARD, QueueBoard
from callcenter.serialize import json_response, plain, read_form
from handlers import agents, campaigns, complaints, screen_pop
from handlers.errors import Forbidden, InvalidInput
from handlers.inbox import routing as inbox_routing
from handlers.roles import MANAGERS, STAFF
from handlers.routing import publish
from storage.models.base import utcnow


async def agent_page(request: web.Request) -> web.Response:
    user = await require_page_user(request)
    async with request.app[SESSIONS]() as session:
        state = await agents.state_of(session, user)
        waits = agents.served_by(user, await agents.queue_waits(session, utcnow()))
    return await render_page(
        request, "console/agent.html.j2", user, state=state, states=agents.STATES, waits=waits
    )


async def set_state(request: web.Request) -> web.StreamResponse:
    """The agent's own availability, or (`agent`: a login) a supervisor's change to an agent's.
    Every console of that agent follows it over its socket."""
    user = await require_user(request, *STAFF)
    form = await read_form(request)
    await check_form(request, form)
    login = str(form.get("agent") or user.login)
    if login != user.login and user.role not in MANAGERS:
        raise Forbidden("only a supervisor sets another agent's availability")
    async with request.app[SESSIONS]() as session:
        state = await agents.set_state(session, login, str(form.get("state", "")))
        if state.state in inbox_routing.CHATTING_STATES:  # chats waiting for someone like them are offered
            await inbox_routing.offer_waiting(session, request.app[EVENTS], request.app[INBOX_POLICY])
    await publish.agent_state(request.app[EVENTS], login, state.state)
    if request.headers.get("Accept", "").startswith("application/json"):
        return json_response(state)
    raise web.HTTPFound("/agent")


async def open_card(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    pop = await agent_views.card(request, user, request.match_info["call_id"], via="console")
    return web.Response(text=pop["html"], content_type="text/html")


async def set_disposition(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, *STAFF)
    form = await read_form(request)
    await check_form(request, form)
    async with request.app[SESSIONS]() as session:
        contact = await agents.set_disposition(
            session, user, request.match_info["call_id"], str(form.get("disposition", ""))
        )
        accepted = str(form.get("offer_accepted", "")).strip()
        if accepted and contact.customer_id is not None:
            # The agent ticked "accepted the suggested offer": a cross-sell conversion.
            await campaigns.offer_accepted(
                session,
                customer_id=contact.customer_id,
                offer_code=accepted,
                channel="phone",
                agent_id=user.id,
            )
    return json_response(contact)


async def log_complaint(request: web.Request) -> web.StreamResponse:
    """The agent logs a complaint for the caller, through the same use case the bot uses.
    The answer is the complaint and the card again (`html`), its complaint list with the new
    one and the ticket for the agent to read to the caller."""
    user = await require_user(request, *STAFF)
    form = await read_form(request)
    await check_form(request, form)
    call_id = request.match_info["call_id"]
    async with request.app[SESSIONS]() as session:
        customer_id = await screen_pop.caller_of(session, user, call_id)
        if customer_id is None:
            raise InvalidInput("the caller is not a known customer; create the customer first")
        complaint = await complaints.lodge(
            session,
            customer_id=customer_id,
            category=str(form.get("category", "")),
            description=str(form.get("description", "")),
            severity=str(form.get("severity", "standard")),
            channel="phone",
            actor=user,
            policy=request.app[COMPLAINT_POLICY],
        )
    refreshed = await agent_views.card(request, user, call_id, via="console", logged=complaint.ticket)
    return json_response({**plain(complaint), "html": refreshed["html"]}, status=201)


def setup(app: web.Application) -> None:
    app[QUEUE_BOARD] = QueueBoard()
    app.cleanup_ctx.append(dispatching)
    app.router.add_get("/agent", agent_page)
    app.router.add_post("/agent/state", set_state)
    app.router.add_get("/agent/ws", agent_socket)
    app.router.add_get("/agent/calls/{call_id}/card", open_card)
    app.router.add_post("/agent/calls/{call_id}/disposition", set_disposition)
    app.router.add_post("/agent/calls/{call_id}/complaint", log_complaint)
