"""One read of the database shared by every socket of this process that needs it at about
the same time, and at most one per interval: a busy floor changes many times a second, and
each change would otherwise cost one query per open console. The agents' queue panel
(callcenter/queue_board.py) and the supervisors' wallboard read this way."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

T = TypeVar("T")


class LatestRead(Generic[T]):
    def __init__(self, read: Callable[[AsyncSession], Awaitable[T]], interval: float = 1.0) -> None:
        self._read = read
        self._interval = interval
        self._lock = asyncio.Lock()
        self._value: T | None = None
        self._read_at = float("-inf")

    async def newer_than(self, moment: float, sessions: async_sessionmaker[AsyncSession]) -> T:
        """What was read after `moment` (time.monotonic() when the caller learnt that it
        changed): callers that learnt of the same change share one read."""
        async with self._lock:
            if self._value is not None and self._read_at >= moment:
                return self._value
            pause = self._read_at + self._interval - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            started = time.monotonic()
            async with sessions() as session:
                self._value = await self._read(session)
            self._read_at = started
            return self._value
