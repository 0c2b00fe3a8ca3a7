"""`/agent/ws`: the agent console's socket. It pushes the agent's own screen pops and call
ends, their availability whenever the server changes it (a call offered or ended, another
tab, a supervisor), and the calls waiting in the queues they serve.

On opening it sends the pops of calls still in progress, the availability and the queue
panel, so a page that reconnects after a gap shows the server's state again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from callcenter import agent_views
from callcenter.auth import require_user
from callcenter.console_sockets import Sender, open_socket, serve
from callcenter.keys import EVENTS, SESSIONS
from callcenter.queue_board import QUEUE_BOARD
from callcenter.web_security import check_origin
from handlers import agents, screen_pop
from handlers.agents import QueueWait
from handlers.roles import STAFF
from storage.events import CALLS, SUPERVISOR
from storage.users import UserRecord

# The call events an agent's console shows.
CALL_EVENTS = ("call_offered", "call_answered", "call_ended")


class AgentFeed:
    """What one agent's socket pushes, from the two channels it listens to."""

    def __init__(self, request: web.Request, user: UserRecord, sender: Sender, replayed: set[str]) -> None:
        self.request = request
        self.user = user
        self.sender = sender
        # Pops already sent as replays when the socket opened.
        self.replayed = replayed
        self.queues_moved = asyncio.Event()
        self.moved_at = 0.0
        self.panel_shown: tuple[QueueWait, ...] | None = None

    async def pops(self, calls: AsyncIterator[dict[str, Any]]) -> None:
        async for event in calls:
            # An agent only ever receives their own pops.
            if event.get("agent") != self.user.login or event.get("type") not in CALL_EVENTS:
                continue
            call_id = str(event.get("call_id"))
            # A call offered while the socket was opening is both replayed and announced (the
            # subscription starts first so that nothing is missed): one pop is enough.
            if event["type"] == "call_offered" and call_id in self.replayed:
                self.replayed.discard(call_id)
                continue
            # Before the message is built: a pop reads (and audits) the customer's record.
            if await self.sender.signed_out():
                return
            if event["type"] == "call_ended":
                await self.sender.send({"type": "call_ended", "call_id": call_id})
            else:
                await self.sender.send(await agent_views.card(self.request, self.user, call_id, via="ws"))

    async def floor(self, changes: AsyncIterator[dict[str, Any]]) -> None:
        async for event in changes:
            if event.get("type") == "queues_changed":
                # Noted, not read here: a busy floor moves the queues many times a second.
                self.moved_at = time.monotonic()
                self.queues_moved.set()
            elif event.get("type") == "agent_state" and event.get("agent") == self.user.login:
                # The agent's own state, no customer's data: like the queue panel, it relies on
                # the socket's periodic sign-in check (each call moves it twice).
                await self.sender.send(await agent_views.availability(self.request, self.user))

    async def queue_panel(self) -> None:
        """The panel, then again after the queues moved when what it shows has changed."""
        board = self.request.app[QUEUE_BOARD]
        while True:
            await self.queues_moved.wait()
            self.queues_moved.clear()
            waits = await board.newer_than(self.moved_at, self.request.app[SESSIONS])
            served = agents.served_by(self.user, waits)
            if served == self.panel_shown:
                continue
            self.panel_shown = served
            # Counts of calls, no customer's data: the socket's periodic sign-in check is
            # enough, and spares a check per agent each time the floor moves.
            await self.sender.send(await agent_views.queue_panel(self.request, self.user, served))


async def agent_socket(request: web.Request) -> web.StreamResponse:
    check_origin(request)
    user = await require_user(request, *STAFF)  # 401 before the upgrade
    socket = await open_socket(request)
    events = request.app[EVENTS]
    sender = Sender(request, socket)
    async with events.subscribe(CALLS) as calls, events.subscribe(SUPERVISOR) as changes:
        # A reconnecting agent gets the pops of calls still in progress.
        async with request.app[SESSIONS]() as session:
            in_progress = await screen_pop.calls_in_progress(session, user)
        feed = AgentFeed(request, user, sender, set(in_progress))
        for call_id in in_progress:
            await sender.send(await agent_views.card(request, user, call_id, via="ws", replay=True))
        await sender.send(await agent_views.availability(request, user))
        # The first panel comes from the panel's own task, so that pops need not wait for it.
        feed.moved_at = time.monotonic()
        feed.queues_moved.set()
        await serve(request, socket, feed.pops(calls), feed.floor(changes), feed.queue_panel())
    return socket
