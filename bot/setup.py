"""The Telegram bot's parts, built from plain values by the composition root
(callcenter/bootstrap.py): the bot and its rate limiter, the dispatcher with its routers,
and the outbox drain. Nothing here reads settings or knows the web application; the
webhook's web wiring is callcenter/telegram_webhook.py. The outbox loop itself is a use case
(handlers/outbox.run_sender) that sends through `Telegram.channel`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.fsm_storage import DatabaseStorage
from bot.middlewares import Unhandled, UpdateContext
from bot.routers import complaints, inbox, membership, questionnaires, start, surveys
from bot.routers.inbox import InboxWiring
from bot.sender import RateLimiter, TelegramChannel
from bot.settings import Settings
from handlers.complaints import ComplaintPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Telegram:
    """One bot per process, and one rate limiter for everything it sends."""

    bot: Bot
    limiter: RateLimiter
    channel: TelegramChannel  # notifications and campaigns alike


def connect(
    token: str, *, api_base: str | None, messages_per_second: float, chat_interval_seconds: float
) -> Telegram:
    api = TelegramAPIServer.from_base(api_base) if api_base else None
    bot = Bot(token, session=AiohttpSession(api=api) if api else AiohttpSession())
    limiter = RateLimiter(messages_per_second, chat_interval_seconds)
    return Telegram(bot=bot, limiter=limiter, channel=TelegramChannel(bot, limiter))


def build_dispatcher(
    sessions: Callable[[], AsyncSession],
    settings: Settings,
    complaint_policy: ComplaintPolicy,
    inbox_wiring: InboxWiring,
    on_unhandled: Unhandled | None = None,
) -> Dispatcher:
    """`on_unhandled` receives each update no router takes (kept for inspection)."""
    # The complaint rules the composition root built reach handlers as `complaint_policy`,
    # the chat inbox's routing policy and event bus as `inbox`.
    dispatcher = Dispatcher(
        storage=DatabaseStorage(sessions), complaint_policy=complaint_policy, inbox=inbox_wiring
    )
    dispatcher.update.outer_middleware(UpdateContext(sessions, settings, on_unhandled))
    # Commands and flows first; then a live conversation's messages (to the agent); free text last.
    dispatcher.include_routers(
        membership.build(),
        start.build(),
        complaints.build(),
        surveys.build(),
        questionnaires.build(),
        inbox.build(),
        questionnaires.build_resume(),
        start.build_fallback(),
    )
    return dispatcher
