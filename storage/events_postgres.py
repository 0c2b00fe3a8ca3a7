"""The event bus over PostgreSQL LISTEN/NOTIFY: an event published by any instance reaches
the subscribers of every instance sharing the database (screen pops follow the agent's
socket wherever the load balancer put it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import asyncpg

from storage.events import Event, InProcessBus

log = logging.getLogger(__name__)

PREFIX = "contactdesk_"
NOTIFY_LIMIT = 7900  # PostgreSQL refuses payloads of 8000 bytes or more


class PostgresBus:
    """One LISTEN connection per instance fans notifications out to local subscribers; NOTIFY
    goes through a second connection so a publisher never waits behind the listener."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._local = InProcessBus()
        self._listener: asyncpg.Connection | None = None
        self._publisher: asyncpg.Connection | None = None
        self._channels: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def _connection(self, which: str) -> asyncpg.Connection:
        current = self._listener if which == "listener" else self._publisher
        if current is not None and not current.is_closed():
            return current
        connection = await asyncpg.connect(self._dsn)
        if which == "listener":
            self._listener = connection
            # Reconnected: listen again on everything someone is subscribed to.
            for channel in self._channels:
                await connection.add_listener(PREFIX + channel, self._deliver)
        else:
            self._publisher = connection
        return connection

    def _deliver(self, _connection: object, _pid: int, channel: str, payload: str) -> None:
        try:
            event = json.loads(payload)
        except json.JSONDecodeError:
            log.warning("ignored a malformed notification on %s", channel)
            return
        task = asyncio.get_running_loop().create_task(
            self._local.publish(channel.removeprefix(PREFIX), event)
        )
        task.add_done_callback(lambda _t: None)

    async def publish(self, channel: str, event: Event) -> None:
        payload = json.dumps(event, separators=(",", ":"), default=str)
        if len(payload.encode()) > NOTIFY_LIMIT:
            raise ValueError("event too large for NOTIFY: publish ids, let receivers load the rest")
        async with self._lock:
            connection = await self._connection("publisher")
        await connection.execute("SELECT pg_notify($1, $2)", PREFIX + channel, payload)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Event]]:
        async with self._lock:
            listener = await self._connection("listener")
            if self._channels.get(channel, 0) == 0:
                await listener.add_listener(PREFIX + channel, self._deliver)
            self._channels[channel] = self._channels.get(channel, 0) + 1
        try:
            async with self._local.subscribe(channel) as events:
                yield events
        finally:
            async with self._lock:
                self._channels[channel] -= 1
                if (
                    self._channels[channel] == 0
                    and self._listener is not None
                    and not self._listener.is_closed()
                ):
                    await self._listener.remove_listener(PREFIX + channel, self._deliver)

    async def close(self) -> None:
        for connection in (self._listener, self._publisher):
            if connection is not None and not connection.is_closed():
                await connection.close()
        await self._local.close()
