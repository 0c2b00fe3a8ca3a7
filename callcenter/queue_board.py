"""The calls waiting per queue, as every agent console of this process shows them: read once
for all the sockets that ask at about the same time, and at most once per interval, so a
busy floor (every call moves the queues) does not cost one query per agent per call."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import agents
from handlers.agents import QueueWait
from storage.models.base import utcnow


class QueueBoard:
    def __init__(self, interval: float = 1.0) -> None:
        self._interval = interval
        self._lock = asyncio.Lock()
        self._waits: tuple[QueueWait, ...] | None = None
        self._read_at = float("-inf")

    async def newer_than(
        self, moment: float, sessions: async_sessionmaker[AsyncSession]
    ) -> tuple[QueueWait, ...]:
        """The queues as read after `moment` (time.monotonic() when the caller learnt that
        they changed): sockets that learnt of the same change share one read."""
        async with self._lock:
            if self._waits is not None and self._read_at >= moment:
                return self._waits
            pause = self._read_at + self._interval - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            started = time.monotonic()
            async with sessions() as session:
                self._waits = await agents.queue_waits(session, utcnow())
            self._read_at = started
            return self._waits


QUEUE_BOARD = web.AppKey("queue_board", QueueBoard)
