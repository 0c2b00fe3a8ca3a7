"""The agent console (`/agent`, `/agent/ws`) and the live supervisor view (`/supervisor`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from callcenter.auth import require_user, still_signed_in
from callcenter.complaints_setup import POLICY as COMPLAINT_POLICY
from callcenter.console_auth import check_form, csrf_token
from callcenter.console_pages import render_page, require_page_user
from callcenter.keys import EVENTS, SESSIONS, SETTINGS
from callcenter.serialize import json_response, plain, read_form
from callcenter.web_security import check_origin
from handlers import agents, campaigns, complaints, screen_pop
from handlers.errors import InvalidInput
from handlers.roles import MANAGERS, STAFF
from storage.events import CALLS, SUPERVISOR
from storage.models.base import utcnow
from storage.users import UserRecord
from templates import render

log = logging.getLogger(__name__)
# The call events an agent's console shows.
CALL_EVENTS = ("call_offered", "call_answered", "call_ended")


async def agent_page(request: web.Request) -> web.Response:
    user = await require_page_user(request)
    async with request.app[SESSIONS]() as session:
        state = next((s.state for s in await agents.states(session) if s.login == user.login), "offline")
    return await render_page(request, "console/agent.html.j2", user, state=state, states=agents.STATES)


async def set_state(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, *STAFF)
    form = await read_form(request)
    await check_form(request, form)
    async with request.app[SESSIONS]() as session:
        state = await agents.set_state(session, user.login, str(form.get("state", "")))
    await request.app[EVENTS].publish(
        SUPERVISOR, {"type": "agent_state", "agent": user.login, "state": state.state}
    )
    if request.headers.get("Accept", "").startswith("application/json"):
        return json_response(state)
    raise web.HTTPFound("/agent")


async def render_pop(
    request: web.Request, user: UserRecord, call_id: str, *, via: str, replay: bool = False
) -> dict[str, Any]:
    async with request.app[SESSIONS]() as session:
        pop = await screen_pop.for_call(session, user, call_id, via=via, replay=replay)
    html = render(
        "console/card.html.j2",
        pop=pop,
        now=utcnow(),
        csrf=await csrf_token(request),
        categories=request.app[SETTINGS].complaint_categories,
    )
    customer = None
    if pop.customer is not None:
        customer = {
            "id": pop.customer.id,
            "name": pop.customer.name,
            "tier": pop.customer.tier,
            "blacklisted": pop.customer.blacklisted,
        }
    return {"type": "screen_pop", "call_id": call_id, "customer": customer, "html": html}


async def _signed_out(request: web.Request, socket: web.WebSocketResponse) -> bool:
    """Close the socket, telling the page why, once its user signed out or was disabled."""
    if await still_signed_in(request):
        return False
    await socket.close(code=WSCloseCode.POLICY_VIOLATION, message=b"signed out")
    return True


async def _close_when_signed_out(request: web.Request, socket: web.WebSocketResponse) -> None:
    # Between events too, so an idle socket of a disabled user does not stay open.
    while True:
        await asyncio.sleep(request.app[SETTINGS].socket_recheck_seconds)
        if await _signed_out(request, socket):
            return


async def _push_socket(
    request: web.Request,
    channel: str,
    opening: Callable[[], Awaitable[list[dict[str, Any]]]],
    wanted: Callable[[dict[str, Any]], bool],
    message_for: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
) -> web.WebSocketResponse:
    """A console socket: the opening messages, then one message per wanted event on `channel`,
    until the browser leaves or its user signs out (checked before each push and between)."""
    socket = web.WebSocketResponse(heartbeat=30)
    await socket.prepare(request)
    async with request.app[EVENTS].subscribe(channel) as events:
        for first in await opening():
            await socket.send_json(first)

        async def forward() -> None:
            async for event in events:
                if not wanted(event):
                    continue
                # Before the message is built: a pop reads (and audits) the customer's record.
                if await _signed_out(request, socket):
                    return
                await socket.send_json(await message_for(event))

        tasks = (
            asyncio.create_task(forward()),
            asyncio.create_task(_close_when_signed_out(request, socket)),
        )
        try:
            async for received in socket:
                if received.type == WSMsgType.ERROR:
                    break
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    return socket


async def agent_socket(request: web.Request) -> web.StreamResponse:
    check_origin(request)
    user = await require_user(request, *STAFF)  # 401 before the upgrade

    replayed: set[str] = set()

    async def opening() -> list[dict[str, Any]]:
        # A reconnecting agent gets the pops of calls still in progress.
        async with request.app[SESSIONS]() as session:
            in_progress = await screen_pop.calls_in_progress(session, user)
        replayed.update(in_progress)
        return [await render_pop(request, user, call_id, via="ws", replay=True) for call_id in in_progress]

    def wanted(event: dict[str, Any]) -> bool:
        # An agent only ever receives their own pops.
        if event.get("agent") != user.login or event.get("type") not in CALL_EVENTS:
            return False
        # A call offered while the socket was opening is both replayed and announced (the
        # subscription starts first so that nothing is missed): one pop is enough.
        if event["type"] == "call_offered" and str(event.get("call_id")) in replayed:
            replayed.discard(str(event.get("call_id")))
            return False
        return True

    async def message_for(event: dict[str, Any]) -> dict[str, Any]:
        if event["type"] == "call_ended":
            return {"type": "call_ended", "call_id": event["call_id"]}
        return await render_pop(request, user, str(event["call_id"]), via="ws")

    return await _push_socket(request, CALLS, opening, wanted, message_for)


async def open_card(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    pop = await render_pop(request, user, request.match_info["call_id"], via="console")
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
    """The agent logs a complaint for the caller, through the same use case the bot uses."""
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
    return json_response(complaint, status=201)


async def supervisor_snapshot(request: web.Request) -> dict[str, Any]:
    async with request.app[SESSIONS]() as session:
        floor = await agents.floor(session, utcnow())
    return {"type": "supervisor", "queues": floor.queues, "agents": plain(floor.agents)}


async def supervisor_page(request: web.Request) -> web.Response:
    user = await require_page_user(request, *MANAGERS)
    return await render_page(request, "console/supervisor.html.j2", user)


async def supervisor_socket(request: web.Request) -> web.StreamResponse:
    check_origin(request)
    await require_user(request, *MANAGERS)

    async def snapshot() -> list[dict[str, Any]]:
        return [await supervisor_snapshot(request)]

    async def fresh_snapshot(_event: dict[str, Any]) -> dict[str, Any]:
        return await supervisor_snapshot(request)

    return await _push_socket(request, SUPERVISOR, snapshot, lambda _event: True, fresh_snapshot)


def setup(app: web.Application) -> None:
    app.router.add_get("/agent", agent_page)
    app.router.add_post("/agent/state", set_state)
    app.router.add_get("/agent/ws", agent_socket)
    app.router.add_get("/agent/calls/{call_id}/card", open_card)
    app.router.add_post("/agent/calls/{call_id}/disposition", set_disposition)
    app.router.add_post("/agent/calls/{call_id}/complaint", log_complaint)
    app.router.add_get("/supervisor", supervisor_page)
    app.router.add_get("/supervisor/ws", supervisor_socket)
