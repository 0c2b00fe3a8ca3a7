"""The event bus: publish a small JSON event, every subscriber in every instance receives it.

One interface, two backends (like aiogram's FSM storages): in-process for SQLite and
tests, PostgreSQL LISTEN/NOTIFY when several `contactdesk serve` instances share a
database (added with the console). Events are notifications, not a queue: a subscriber
that is not listening when an event is published does not see it, so anything that
must survive (a call in progress) is also in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

Event = dict[str, Any]

# Channels used across features; payloads always carry a "type".
CALLS = "calls"  # {"type": "call_offered" | "call_answered" | "call_ended", "call_id", "agent", ...}
SUPERVISOR = "supervisor"  # queue and agent-state changes for the live supervisor view
# The chat inbox: {"type": "chat_offered" | "chat_message" | "chat_delivery" | "chat_closed"
# | "chat_queued", "conversation_id", "agent", ...}; handlers/inbox/publish.py
INBOX = "inbox"


class EventBus(Protocol):
    async def publish(self, channel: str, event: Event) -> None: ...

    async def publish_all(self, events: Sequence[tuple[str, Event]]) -> None:
        """Several events at once, in this order (one transaction on PostgreSQL)."""

    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[AsyncIterator[Event]]: ...

    async def close(self) -> None: ...


class _QueueIterator:
    """Events from a queue. A plain iterator, not an async generator: a generator left
    suspended in `queue.get()` would have to be finalised by the event loop at shutdown."""

    def __init__(self, queue: asyncio.Queue[Event]) -> None:
        self._queue = queue

    def __aiter__(self) -> _QueueIterator:
        return self

    async def __anext__(self) -> Event:
        return await self._queue.get()


class InProcessBus:
    """Delivers to subscribers of this process only."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._queues: dict[str, set[asyncio.Queue[Event]]] = {}
        self._queue_size = queue_size

    async def publish(self, channel: str, event: Event) -> None:
        for queue in list(self._queues.get(channel, ())):
            # A subscriber that stopped reading loses events rather than stalling publishers.
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)

    async def publish_all(self, events: Sequence[tuple[str, Event]]) -> None:
        for channel, event in events:
            await self.publish(channel, event)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        self._queues.setdefault(channel, set()).add(queue)

        try:
            yield _QueueIterator(queue)
        finally:
            self._queues[channel].discard(queue)

    async def close(self) -> None:
        self._queues.clear()
