"""One subscriber per application for what the agent consoles show: it listens on CALLS and
SUPERVISOR once and hands each event to the sockets it concerns, so a call wakes the sockets
of its agent only, not every agent's socket of the process (bench/screen_pop.py, 100 agents:
with every socket subscribed and filtering, 16 calls in flight fell from 53 to 31 pops/s; measured
again with this on a busy shared machine, see docs/console.md).

- a call event goes to the sockets of its agent (two tabs of one agent each get it), and so
  does a chat event (INBOX: a chat offered, a message, a reply's delivery, a chat closed);
- `agent_state` tells that agent's sockets to show their availability again;
- `queues_changed` makes one read of the queues (callcenter/queue_board.py) for the whole
  process, and only the sockets whose panel (the queues their agent serves) changed push it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Iterator

from aiohttp import web

from callcenter.keys import EVENTS, SESSIONS, SETTINGS
from callcenter.queue_board import QUEUE_BOARD
from handlers import agents
from handlers.agents import QueueWait
from storage.events import CALLS, INBOX, SUPERVISOR, Event
from storage.users import UserRecord

log = logging.getLogger(__name__)

# The call events an agent's console shows.
CALL_EVENTS = ("call_offered", "call_answered", "call_ended")


class Inbox:
    """What the dispatcher leaves for one socket; the socket's own tasks push it, so a slow
    socket (or a card that takes its queries) holds up no other."""

    def __init__(self, user: UserRecord, queue_size: int = 1000) -> None:
        self.user = user
        self.calls: asyncio.Queue[Event] = asyncio.Queue(queue_size)
        # The agent's chats: offered, messages both ways, delivery states, closed.
        self.chats: asyncio.Queue[Event] = asyncio.Queue(queue_size)
        # Availability and the panel are read afresh when pushed: several changes while a push
        # is under way make one more push, not one each.
        self.state_moved = asyncio.Event()
        self.panel_moved = asyncio.Event()
        self.panel: tuple[QueueWait, ...] | None = None

    def call(self, event: Event) -> None:
        # Like the bus: a socket that stopped reading loses events rather than stalling others.
        with contextlib.suppress(asyncio.QueueFull):
            self.calls.put_nowait(event)

    def chat(self, event: Event) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.chats.put_nowait(event)

    def offer_panel(self, served: tuple[QueueWait, ...]) -> None:
        if served != self.panel:
            self.panel = served
            self.panel_moved.set()


class AgentDispatch:
    def __init__(self, app: web.Application) -> None:
        self._app = app
        self.inboxes: dict[str, set[Inbox]] = {}
        self._listening = asyncio.Event()
        self._queues_moved = asyncio.Event()
        self._moved_at = 0.0
        self._running: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def inbox(self, user: UserRecord) -> Iterator[Inbox]:
        """A socket's inbox while it is open; the socket's first panel follows."""
        inbox = Inbox(user)
        self.inboxes.setdefault(user.login, set()).add(inbox)
        self._panel_wanted()
        try:
            yield inbox
        finally:
            held = self.inboxes[user.login]
            held.discard(inbox)
            if not held:
                del self.inboxes[user.login]

    async def listening(self) -> None:
        """Wait until the subscriptions are in place, so a socket misses nothing published
        after it opened; a 503 if the bus cannot be reached."""
        if self._listening.is_set():
            return
        if self._running is None:
            # Subscribed with the first agent's socket, not at startup: an instance nobody
            # has opened a console on (a worker's, one whose database is down) keeps no
            # listener and does not keep trying to connect one.
            self._running = asyncio.create_task(self.run())
        try:
            async with asyncio.timeout(self._app[SETTINGS].database_connect_timeout_seconds):
                await self._listening.wait()
        except TimeoutError:
            raise web.HTTPServiceUnavailable(text="the console's event bus is unreachable") from None

    async def run(self) -> None:
        """Subscribe (again after a failure, the bus being unreachable at startup), then
        dispatch until cancelled. Once subscribed, the bus itself listens again after a lost
        connection."""
        delays = itertools.chain((0.1, 0.5, 1, 2, 5), itertools.repeat(10.0))
        while True:
            try:
                events = self._app[EVENTS]
                async with (
                    events.subscribe(CALLS) as calls,
                    events.subscribe(SUPERVISOR) as changes,
                    events.subscribe(INBOX) as chats,
                ):
                    self._listening.set()
                    async with asyncio.TaskGroup() as group:
                        group.create_task(self._route_calls(calls))
                        group.create_task(self._route_chats(chats))
                        group.create_task(self._route_changes(changes))
                        group.create_task(self._panels())
            except Exception:
                self._listening.clear()
                delay = next(delays)
                log.exception("agent consoles: no events, subscribing again in %ss", delay)
                await asyncio.sleep(delay)

    async def stop(self) -> None:
        if self._running is not None:
            self._running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._running

    async def _route_calls(self, calls: AsyncIterator[Event]) -> None:
        async for event in calls:
            if event.get("type") in CALL_EVENTS:
                for inbox in self.inboxes.get(str(event.get("agent")), ()):
                    inbox.call(event)

    async def _route_chats(self, chats: AsyncIterator[Event]) -> None:
        async for event in chats:
            for inbox in self.inboxes.get(str(event.get("agent")), ()):
                inbox.chat(event)

    async def _route_changes(self, changes: AsyncIterator[Event]) -> None:
        async for event in changes:
            if event.get("type") == "queues_changed":
                self._panel_wanted()
            elif event.get("type") == "agent_state":
                for inbox in self.inboxes.get(str(event.get("agent")), ()):
                    inbox.state_moved.set()

    def _panel_wanted(self) -> None:
        # Noted, not read here: a busy floor moves the queues many times a second.
        self._moved_at = time.monotonic()
        self._queues_moved.set()

    async def _panels(self) -> None:
        board = self._app[QUEUE_BOARD]
        while True:
            await self._queues_moved.wait()
            self._queues_moved.clear()
            if not self.inboxes:
                continue
            try:
                waits = await board.newer_than(self._moved_at, self._app[SESSIONS])
            except Exception:
                # The next change reads again; a database blip must not end every panel.
                log.exception("agent consoles: could not read the queues")
                continue
            for inbox in [i for held in self.inboxes.values() for i in held]:
                inbox.offer_panel(agents.served_by(inbox.user, waits))


AGENT_DISPATCH = web.AppKey("agent_dispatch", AgentDispatch)


async def dispatching(app: web.Application) -> AsyncIterator[None]:
    """The dispatcher, listening from the first agent socket to the application's cleanup
    (after the bus opened, before it closes)."""
    dispatch = app[AGENT_DISPATCH] = AgentDispatch(app)
    try:
        yield
    finally:
        await dispatch.stop()
