"""Campaign messages out through Telegram: the `Channel` that handlers.campaigns sends with."""

from __future__ import annotations

import asyncio
import logging

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
from bot.sender import RateLimiter
from bot.texts import t
from handlers.campaigns import Delivery, Outbound

log = logging.getLogger(__name__)

# aiogram builds `Response[Message]` for every answer and pydantic caches that class only
# weakly, so it is rebuilt after each garbage collection (4–8 ms each; measured ~0.5 ms a
# message at speed). One strong reference keeps it built.
_RESPONSE_MESSAGE = Response[Message]


def _markup(item: Outbound) -> InlineKeyboardMarkup | None:
    if item.kind == "cross_sell":
        # "Interested" records a conversion (bot/routers/start.py handles `offer:`).
        target = item.payload["target_id"]
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=t("button_interested", item.language), callback_data=f"offer:{target}:yes"
                    )
                ]
            ]
        )
    return keyboards.for_outbox(item.kind, item.payload, item.language)


class TelegramCampaignChannel:
    """Shares the bot's rate limiter with the outbox sender: one budget per process."""

    def __init__(self, bot: Bot, limiter: RateLimiter) -> None:
        self._bot = bot
        self._limiter = limiter

    async def send(self, item: Outbound) -> Delivery:
        while True:
            await self._limiter.wait(item.address)
            try:
                await self._bot.send_message(
                    chat_id=int(item.address), text=item.text, reply_markup=_markup(item)
                )
            except TelegramRetryAfter as error:
                await asyncio.sleep(error.retry_after)
                continue
            except TelegramForbiddenError as error:
                return Delivery("blocked", error.message)
            except (TelegramBadRequest, TelegramNotFound, ValueError) as error:
                return Delivery("failed", str(error))
            except Exception as error:  # network trouble, Telegram 5xx: the worker retries later
                return Delivery("retry", repr(error))
            return Delivery("sent")
