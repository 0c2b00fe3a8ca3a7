"""The event bus over PostgreSQL LISTEN/NOTIFY: an event published by any instance reaches
the subscribers of every instance sharing the database (screen pops follow the agent's
socket wherever the load balancer put it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence

import asyncpg

from storage.events import Event, InProcessBus

log = logging.getLogger(__name__)

PREFIX = "contactdesk_"
NOTIFY_LIMIT = 7900  # PostgreSQL refuses payloads of 8000 bytes or more
# Every event waiting at that moment, in one transaction, in the order they were published.
# (PostgreSQL delivers identical events of one transaction once: they say the same thing.)
NOTIFY_MANY = (
    "SELECT count(pg_notify(e.channel, e.payload)) FROM unnest($1::text[], $2::text[]) AS e(channel, payload)"
)


async def no_reset(_connection: asyncpg.Connection) -> None:
    return None


class PostgresBus:
    """One LISTEN connection per instance fans notifications out to local subscribers; NOTIFY
    goes through a connection of its own, so a publisher never waits behind the listener.

    Events are sent in batches: whatever was published while the previous batch was on its
    way goes as one statement. A transaction that NOTIFYs holds a lock of the whole cluster
    from its NOTIFY until its commit is on disk (PostgreSQL's async.c: the notification queue
    is kept in commit order), so one transaction per event serialises every publisher on
    that lock, and a NOTIFY inside a routing transaction serialised the routing itself
    (docs/telephony.md). The publisher's transactions skip the wait for the disk: a
    notification does not outlive a crash of the server anyway."""

    def __init__(self, dsn: str, *, timeout: float = 10.0) -> None:
        self._dsn = dsn
        # How long to wait for the server to connect, NOTIFY or say goodbye: a hung server
        # must not hold a call's answer or the application's shutdown.
        self._timeout = timeout
        self._local = InProcessBus()
        self._listener: asyncpg.Connection | None = None
        self._publishers: asyncpg.Pool | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._channels: dict[str, int] = {}
        self._lock = asyncio.Lock()
        # what each publisher sent, (channel, payload) in order, and its answer
        self._waiting: list[tuple[list[tuple[str, str]], asyncio.Future[None]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def _connection(self) -> asyncpg.Connection:
        current = self._listener
        if current is not None and not current.is_closed():
            return current
        connection = await asyncpg.connect(self._dsn, timeout=self._timeout)
        self._listener = connection
        connection.add_termination_listener(self._listener_lost)
        # Reconnected: listen again on everything someone is subscribed to.
        for channel in self._channels:
            await connection.add_listener(PREFIX + channel, self._deliver)
        return connection

    def _listener_lost(self, _connection: object) -> None:
        """The server went away: listen again at once rather than when the next socket
        subscribes, or this instance's agents would get no pops meanwhile."""
        if self._channels and (self._reconnecting is None or self._reconnecting.done()):
            self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        for delay in (0.1, 0.5, 1, 2, 5, 10, 30):
            try:
                async with self._lock:
                    await self._connection()
                return
            except (OSError, asyncpg.PostgresError):
                log.warning("event bus: PostgreSQL unreachable, listening again in %ss", delay)
                await asyncio.sleep(delay)
        log.error("event bus: gave up reconnecting; the next subscriber tries again")

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
        """Returns once the event's batch is committed (the subscribers of every instance
        hear it from then on); raises what sending the batch raised."""
        await self.publish_all([(channel, event)])

    async def publish_all(self, events: Sequence[tuple[str, Event]]) -> None:
        payloads = [
            (PREFIX + channel, json.dumps(event, separators=(",", ":"), default=str))
            for channel, event in events
        ]
        if any(len(payload.encode()) > NOTIFY_LIMIT for _channel, payload in payloads):
            raise ValueError("event too large for NOTIFY: publish ids, let receivers load the rest")
        loop = asyncio.get_running_loop()
        sent = loop.create_future()
        self._waiting.append((payloads, sent))
        if self._sending is None or self._sending.done():
            self._sending = loop.create_task(self._send_waiting())
        await sent

    async def _publisher(self) -> asyncpg.Pool:
        if self._publishers is None:
            async with self._lock:
                if self._publishers is None:
                    self._publishers = await asyncpg.create_pool(
                        self._dsn,
                        min_size=1,
                        max_size=1,
                        timeout=self._timeout,
                        command_timeout=self._timeout,
                        server_settings={"synchronous_commit": "off"},
                        # A NOTIFY leaves no session state behind: no reset query (a second
                        # round trip) each time the publisher hands its connection back.
                        reset=no_reset,
                    )
        return self._publishers

    async def _send_waiting(self) -> None:
        """One batch at a time, so that events arrive in the order they were published."""
        while self._waiting:
            batch, self._waiting = self._waiting, []
            notifications = [notification for payloads, _sent in batch for notification in payloads]
            try:
                publisher = await self._publisher()
                await publisher.execute(
                    NOTIFY_MANY,
                    [channel for channel, _ in notifications],
                    [payload for _, payload in notifications],
                )
            except Exception as error:
                for _payloads, sent in batch:
                    if not sent.done():
                        sent.set_exception(error)
                continue
            except BaseException:  # cancelled (a close that could not wait): nobody waits on
                for _payloads, sent in batch + self._waiting:
                    sent.cancel()
                self._waiting = []
                raise
            for _payloads, sent in batch:
                if not sent.done():
                    sent.set_result(None)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Event]]:
        async with self._lock:
            listener = await self._connection()
            if self._channels.get(channel, 0) == 0:
                await listener.add_listener(PREFIX + channel, self._deliver)
            self._channels[channel] = self._channels.get(channel, 0) + 1
        try:
            async with self._local.subscribe(channel) as events:
                yield events
        finally:
            async with self._lock:
                self._channels[channel] -= 1
                listener = self._listener
                if self._channels[channel] == 0 and listener is not None and not listener.is_closed():
                    await self._unlisten(listener, channel)

    async def _unlisten(self, listener: asyncpg.Connection, channel: str) -> None:
        """UNLISTEN, within the timeout: the last subscriber may be leaving because the
        application stops on a hung server, and shutdown must not wait for it. A listener that
        does not answer is dropped; the next subscriber connects again."""
        try:
            await asyncio.wait_for(listener.remove_listener(PREFIX + channel, self._deliver), self._timeout)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            log.warning("event bus: the listener did not answer UNLISTEN; dropping it")
            listener.terminate()

    async def close(self) -> None:
        self._channels.clear()  # no reconnecting from here on
        if self._sending is not None and not self._sending.done():
            # what was published before the close still goes out, within the timeout
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._sending), self._timeout)
            self._sending.cancel()
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if self._listener is not None and not self._listener.is_closed():
            try:
                await self._listener.close(timeout=self._timeout)
            except TimeoutError:
                self._listener.terminate()
        if self._publishers is not None:
            try:
                await asyncio.wait_for(self._publishers.close(), self._timeout)
            except TimeoutError:
                self._publishers.terminate()
        await self._local.close()
