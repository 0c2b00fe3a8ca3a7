"""The campaign worker: expansion and dispatch in a loop (`contactdesk worker`, `serve`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.campaigns.channel import Channel
from handlers.campaigns.dispatch import dispatch_once, finish_campaigns
from handlers.campaigns.expansion import expand_due
from handlers.campaigns.policy import Policy
from storage.campaigns import lifecycle
from storage.models.base import utcnow

log = logging.getLogger(__name__)


async def run_worker(
    sessions: async_sessionmaker[AsyncSession],
    channel: Channel | None,
    policy: Policy,
    idle: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Expand and dispatch until cancelled. Without a Telegram channel (no bot token) only
    expansion and the dialer's targets move."""
    while True:
        busy = False
        try:
            busy = await expand_due(sessions, policy) > 0
            if channel is not None:
                busy = bool(await dispatch_once(sessions, channel, policy)) or busy
            else:
                async with sessions() as session:
                    await lifecycle.sweep(session, utcnow(), policy.lease)
                    await session.commit()
                    await finish_campaigns(session, utcnow())
        except asyncio.CancelledError:
            raise
        except Exception:  # the worker outlives a bad moment; the next pass retries
            log.exception("campaign pass failed")
        # A busy pass rests not at all, but still passes through `sleep`: that is where the
        # worker learns that shutdown has begun.
        await sleep(0 if busy else idle)
