"""Wires the Telegram bot into the application (the composition root calls `setup`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.webhook.aiohttp_server import setup_application
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaign_channel import TelegramCampaignChannel
from bot.fsm_storage import DatabaseStorage
from bot.middlewares import UpdateContext
from bot.routers import complaints, start, surveys
from bot.sender import RateLimiter, drain_once
from bot.webhook import WebhookHandler
from callcenter.complaints_setup import POLICY as COMPLAINT_POLICY
from callcenter.keys import CAMPAIGN_CHANNEL, METRICS, OPENAPI, SESSIONS, SETTINGS, WORKERS
from callcenter.openapi import ROOT, TELEGRAM_SECURITY, error_responses, obj
from callcenter.web_errors import json_error
from handlers.rejected_updates import keep_rejected_update

log = logging.getLogger(__name__)

BOT = web.AppKey("telegram_bot", Bot)
DISPATCHER = web.AppKey("telegram_dispatcher", Dispatcher)
LIMITER = web.AppKey("telegram_limiter", RateLimiter)


def build_dispatcher(app: web.Application) -> Dispatcher:
    def sessions() -> AsyncSession:
        return app[SESSIONS]()  # opened at startup, after this is built

    # The complaint rules the composition root built reach handlers as `complaint_policy`.
    dispatcher = Dispatcher(storage=DatabaseStorage(sessions), complaint_policy=app[COMPLAINT_POLICY])
    dispatcher.update.outer_middleware(UpdateContext(sessions, app[SETTINGS]))
    # Commands and flows first; free text last.
    dispatcher.include_routers(start.build(), complaints.build(), surveys.build(), start.build_fallback())
    return dispatcher


async def sender_worker(app: web.Application) -> None:
    interval = app[SETTINGS].telegram_sender_idle_seconds
    while True:
        try:
            async with app[SESSIONS]() as session:
                outcomes = await drain_once(app[BOT], session, app[LIMITER])
        except Exception:  # the sender must outlive a bad moment; the next pass retries
            log.exception("outbox drain failed")
            outcomes = {}
        if not outcomes:
            await asyncio.sleep(interval)


async def _polling(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(app[DISPATCHER].start_polling(app[BOT], handle_signals=False))
    yield
    await app[DISPATCHER].stop_polling()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, RuntimeError):
        await task


async def _webhook_disabled(_request: web.Request) -> web.Response:
    return json_error(
        403, "webhook-disabled", "set CONTACTDESK_TELEGRAM_WEBHOOK_SECRET to accept Telegram updates"
    )


PATHS = {
    "/telegram/webhook": {
        "post": {
            "summary": "Telegram updates (setWebhook with secret_token)",
            "servers": ROOT,
            "security": TELEGRAM_SECURITY,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": obj({"update_id": {"type": "integer"}}, {"message": {"type": "object"}})
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "handled (or kept for inspection when it cannot be parsed); "
                    "a Bot API method to call in reply, or {}",
                    "content": {
                        "application/json": {"schema": {"type": "object"}},
                        "multipart/form-data": {"schema": {"type": "object"}},
                    },
                },
                # 401: a wrong secret token; 403: the bot or the webhook secret is not configured.
                **error_responses(400, 401, 403),
            },
        }
    }
}


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    app[OPENAPI].add(PATHS)
    if not settings.bot_token:
        log.info("no CONTACTDESK_BOT_TOKEN: the Telegram bot is off, everything else runs")
        app.router.add_post("/telegram/webhook", _webhook_disabled)
        return
    api = TelegramAPIServer.from_base(settings.telegram_api_base) if settings.telegram_api_base else None
    bot = Bot(settings.bot_token, session=AiohttpSession(api=api) if api else AiohttpSession())
    dispatcher = build_dispatcher(app)
    app[BOT] = bot
    app[DISPATCHER] = dispatcher
    app[LIMITER] = RateLimiter(settings.telegram_messages_per_second, settings.telegram_chat_interval_seconds)
    app[CAMPAIGN_CHANNEL] = TelegramCampaignChannel(bot, app[LIMITER])
    if settings.telegram_webhook_secret:

        async def keep_rejected(raw: bytes, error: str) -> None:
            async with app[SESSIONS]() as session:
                await keep_rejected_update(session, raw, error)
            app[METRICS].telegram_rejected_updates.inc()

        WebhookHandler(
            dispatcher, bot, secret_token=settings.telegram_webhook_secret, on_rejected=keep_rejected
        ).register(app, path="/telegram/webhook")
    else:
        log.warning("no CONTACTDESK_TELEGRAM_WEBHOOK_SECRET: the Telegram webhook refuses every update")
        app.router.add_post("/telegram/webhook", _webhook_disabled)
    setup_application(app, dispatcher, bot=bot)
    if settings.telegram_polling:
        app.cleanup_ctx.append(_polling)
    app[WORKERS].append(sender_worker)

    async def close_bot(_app: web.Application) -> None:
        await bot.session.close()

    app.on_cleanup.append(close_bot)
