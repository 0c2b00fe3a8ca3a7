"""The one sender of queued bot messages: drains the outbox within Telegram's limits."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from datetime import timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from handlers.identities import mask
from storage import outbox, telegram
from storage.models.base import utcnow
from storage.outbox import OutgoingMessage
from templates import message

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


class RateLimiter:
    """About 30 messages a second overall and one a second per chat (Telegram's limits)."""

    def __init__(self, per_second: float, per_chat_interval: float) -> None:
        self._interval = 1 / per_second if per_second > 0 else 0.0
        self._per_chat = per_chat_interval
        self._next_global = 0.0
        self._next_chat: OrderedDict[str, float] = OrderedDict()

    async def wait(self, chat: str) -> None:
        now = time.monotonic()
        ready = max(now, self._next_global, self._next_chat.get(chat, 0.0))
        if ready > now:
            await asyncio.sleep(ready - now)
        sent = time.monotonic()
        self._next_global = sent + self._interval
        self._next_chat[chat] = sent + self._per_chat
        self._next_chat.move_to_end(chat)
        while len(self._next_chat) > 10_000:  # old chats no longer constrain anything
            self._next_chat.popitem(last=False)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 3600))


async def deliver(bot: Bot, session: AsyncSession, item: OutgoingMessage, limiter: RateLimiter) -> str:
    """Send one claimed message and record the outcome; returns it."""
    chat = item.address or ""
    try:
        text = message(item.template, item.language, **item.payload)
        markup = keyboards.for_outbox(item.kind, item.payload, item.language)
    except Exception as error:  # a broken template is permanent: record it, do not retry
        await outbox.finish(session, item.id, "failed", utcnow(), f"render: {error}")
        return "failed"
    while True:
        await limiter.wait(chat)
        try:
            await bot.send_message(chat_id=int(chat), text=text, reply_markup=markup)
        except TelegramRetryAfter as error:
            log.info("Telegram asked us to wait %ss", error.retry_after)
            await asyncio.sleep(error.retry_after)
            continue
        except TelegramForbiddenError as error:
            await telegram.mark_blocked(session, chat, utcnow())
            await outbox.finish(session, item.id, "blocked", utcnow(), error.message)
            log.info("chat %s blocked the bot", mask(chat))
            return "blocked"
        except (TelegramBadRequest, TelegramNotFound, ValueError) as error:
            await outbox.finish(session, item.id, "failed", utcnow(), str(error))
            return "failed"
        except Exception as error:  # network trouble, Telegram 5xx: try again later
            if item.attempts >= MAX_ATTEMPTS:
                await outbox.finish(session, item.id, "failed", utcnow(), str(error))
                return "failed"
            await outbox.retry_later(session, item.id, utcnow() + backoff(item.attempts), repr(error))
            return "retry"
        await outbox.finish(session, item.id, "sent", utcnow())
        return "sent"


async def drain_once(
    bot: Bot, session: AsyncSession, limiter: RateLimiter, batch: int = 30
) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    for item in await outbox.claim_due(session, "telegram", utcnow(), limit=batch):
        result = await deliver(bot, session, item, limiter)
        outcomes[result] = outcomes.get(result, 0) + 1
    return outcomes
