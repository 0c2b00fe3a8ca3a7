"""The one Telegram sender: a `Channel` (handlers.delivery) for every message the bot sends
on its own initiative, notifications and campaign messages alike, within Telegram's limits.

It only reports what Telegram answered; what to do about it (give up, retry, when) is
decided in handlers.delivery."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.methods.base import Response
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot import keyboards
from bot.callbacks import OfferInterest
from bot.texts import t
from handlers.delivery import Delivery, Outbound
from handlers.identities import mask

log = logging.getLogger(__name__)

# aiogram builds `Response[Message]` for every answer and pydantic caches that class only
# weakly, so it is rebuilt after each garbage collection (4–8 ms each; measured ~0.5 ms a
# message at speed). One strong reference keeps it built.
_RESPONSE_MESSAGE = Response[Message]


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


def _markup(item: Outbound) -> InlineKeyboardMarkup | None:
    if item.kind == "cross_sell":
        # "Interested" records a conversion (bot/routers/start.py handles OfferInterest).
        interested = OfferInterest(target_id=item.payload["target_id"]).pack()
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=t("button_interested", item.language), callback_data=interested)]
            ]
        )
    return keyboards.for_outbox(item.kind, item.payload, item.language)


class TelegramChannel:
    """Sends with one rate limiter per process, shared by the outbox and the campaigns."""

    def __init__(self, bot: Bot, limiter: RateLimiter) -> None:
        self._bot = bot
        self._limiter = limiter

    async def send(self, item: Outbound) -> Delivery:
        try:
            chat, markup = int(item.address), _markup(item)
        except (KeyError, TypeError, ValueError) as error:  # no chat id, a payload without its ids
            return Delivery("refused", f"unsendable: {error!r}")
        while True:
            await self._limiter.wait(item.address)
            try:
                await self._bot.send_message(chat_id=chat, text=item.text, reply_markup=markup)
            except TelegramRetryAfter as error:  # flood control: Telegram says when, we wait here
                log.info("Telegram asked us to wait %ss", error.retry_after)
                await asyncio.sleep(error.retry_after)
                continue
            except TelegramForbiddenError as error:
                log.info("chat %s blocked the bot", mask(item.address))
                return Delivery("blocked", error.message)
            except (TelegramBadRequest, TelegramNotFound) as error:
                return Delivery("refused", str(error))
            except Exception as error:  # network trouble, Telegram 5xx
                return Delivery("unavailable", repr(error))
            return Delivery("sent")
