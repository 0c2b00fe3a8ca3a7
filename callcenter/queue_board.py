"""The calls waiting per queue, as every agent console of this process shows them: read once
for all the sockets that ask at about the same time, and at most once per interval, so a
busy floor (every call moves the queues) does not cost one query per agent per call."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.latest_read import LatestRead
from handlers import agents
from handlers.agents import QueueWait
from storage.models.base import utcnow


async def _waits(session: AsyncSession) -> tuple[QueueWait, ...]:
    return await agents.queue_waits(session, utcnow())


class QueueBoard(LatestRead[tuple[QueueWait, ...]]):
    def __init__(self, interval: float = 1.0) -> None:
        super().__init__(_waits, interval)


QUEUE_BOARD = web.AppKey("queue_board", QueueBoard)
