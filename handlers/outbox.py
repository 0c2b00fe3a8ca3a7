"""The outbox sender: the queued notifications (complaint updates, survey questions) go out
through a channel, each outcome recorded under the one retry policy of handlers.delivery."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.delivery import Channel, Outbound, known_blocked, settle
from handlers.inbox import messages as inbox_messages
from storage import outbox as repo
from storage.events import EventBus
from storage.models.base import utcnow
from storage.outbox import OutgoingMessage
from templates import message

log = logging.getLogger(__name__)

BATCH = 30
# Kinds never sent twice: an agent's reply sent again after a crash would read as the agent
# repeating themselves; the agent is told it is uncertain instead and may write again.
AT_MOST_ONCE = (inbox_messages.REPLY,)


async def drain_once(
    session: AsyncSession,
    channel: Channel,
    events: EventBus,
    *,
    batch: int = BATCH,
    clock: Callable[[], datetime] = utcnow,
) -> dict[str, int]:
    """Claim a batch of due Telegram messages and send them; returns counts by new status.
    An agent's chat reply is sent at most once: one a dead sender held is `uncertain`."""
    unsure = await repo.give_up_unsure(session, "telegram", clock(), kinds=AT_MOST_ONCE)
    await session.commit()
    for item in unsure:
        await inbox_messages.delivered(session, events, int(item.payload["message_id"]), "uncertain")
    claimed = await repo.claim_due(session, "telegram", clock(), once_only=AT_MOST_ONCE, limit=batch)
    # The claim is committed before anything goes out: other senders skip these rows, and
    # one that dies mid-batch leaves them to the lease (at least once, see docs/telegram.md).
    await session.commit()
    outcomes: dict[str, int] = {}
    for item in claimed:
        status = await deliver(session, channel, events, item, clock)
        outcomes[status] = outcomes.get(status, 0) + 1
    return outcomes


async def deliver(
    session: AsyncSession,
    channel: Channel,
    events: EventBus,
    item: OutgoingMessage,
    clock: Callable[[], datetime] = utcnow,
) -> str:
    """Send one claimed message and commit its outcome; returns the status recorded. An
    agent's chat reply also records its delivery in the inbox, and the agent is told."""
    status = await _send(session, channel, item, clock)
    if item.kind == inbox_messages.REPLY:
        await inbox_messages.delivered(session, events, int(item.payload["message_id"]), status)
    return status


async def _send(
    session: AsyncSession, channel: Channel, item: OutgoingMessage, clock: Callable[[], datetime]
) -> str:
    try:
        text = message(item.template, item.language, **item.payload)
    except Exception as error:  # a broken template stays broken: record it, do not retry
        await repo.finish(session, item.id, "failed", clock(), f"render: {error}")
        await session.commit()
        return "failed"
    delivery = await known_blocked(session, item.channel, item.address) or await channel.send(
        Outbound(item.address or "", text, item.language, item.kind, item.payload)
    )
    now = clock()
    settled = await settle(session, delivery, address=item.address, attempts=item.attempts + 1, now=now)
    if settled.retry_at is not None:
        await repo.retry_later(session, item.id, settled.retry_at, settled.error)
    else:
        await repo.finish(session, item.id, settled.status, now, settled.error)
    await session.commit()
    return settled.status


async def run_sender(
    sessions: async_sessionmaker[AsyncSession],
    channel: Channel,
    events: EventBus,
    idle: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Drain until cancelled; rest `idle` seconds whenever there was nothing to send."""
    while True:
        outcomes: dict[str, int] = {}
        try:
            async with sessions() as session:
                outcomes = await drain_once(session, channel, events)
        except Exception:  # the sender must outlive a bad moment; the next pass retries
            log.exception("outbox drain failed")
        # Straight on while there is more to send, still through `sleep`, where the sender
        # learns that shutdown has begun.
        await sleep(idle if not outcomes else 0)
