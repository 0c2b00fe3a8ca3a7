"""Telegram updates, each handled once: claimed before handling, released when handling
fails (so Telegram's retry is handled), forgotten after the retention (so the table does not
grow forever). A chat that writes to the bot has unblocked it: campaigns include it again.
Telegram also says so itself (`my_chat_member`): blocked, or let back in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import telegram as repo
from storage.models.base import utcnow

log = logging.getLogger(__name__)

FORGET_EVERY = timedelta(hours=1)


async def claim(session: AsyncSession, update_id: int, *, from_chat: str | None) -> bool:
    """True for the first delivery of this update anywhere; False for a repeat.

    `from_chat` is the private chat a message came from: Telegram lets nobody write to a bot
    they block, so a message (a /start after unblocking, typically) lifts our record of it."""
    claimed = await repo.claim_update(session, update_id)
    if claimed and from_chat is not None:
        await repo.unblock(session, from_chat)
    await session.commit()
    return claimed


# A private chat's member statuses for the bot in which it can write to the customer.
PRESENT = frozenset({"member", "administrator", "creator"})


async def bot_membership(session: AsyncSession, chat_id: str, status: str) -> None:
    """Telegram reports the bot's new status in a private chat: `kicked` is the customer
    blocking the bot (outbox and campaigns skip the chat from now on, without a send to learn
    it); `member` is them letting it back in (Restart), as is any message they write."""
    if status == "kicked":
        await repo.mark_blocked(session, chat_id, utcnow())
    elif status in PRESENT:
        await repo.unblock(session, chat_id)
    await session.commit()


async def release(session: AsyncSession, update_id: int) -> None:
    await repo.release_update(session, update_id)
    await session.commit()


async def forget_old(session: AsyncSession, retention: timedelta, now: datetime) -> int:
    """Forget the updates received more than `retention` ago; returns how many. Telegram
    stops re-delivering an update long before (it gives up after about a day)."""
    forgotten = await repo.forget_updates_before(session, now - retention)
    await session.commit()
    return forgotten


async def forget_periodically(
    sessions: async_sessionmaker[AsyncSession],
    retention: timedelta,
    every: timedelta = FORGET_EVERY,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    """Forget old updates now and every `every` until cancelled."""
    while True:
        try:
            async with sessions() as session:
                forgotten = await forget_old(session, retention, clock())
            if forgotten:
                log.info("forgot %s Telegram updates older than %s", forgotten, retention)
        except Exception:  # the worker outlives a bad moment; the next pass retries
            log.exception("forgetting old Telegram updates failed")
        await sleep(every.total_seconds())
