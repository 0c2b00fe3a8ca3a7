"""`POST /telegram/webhook`: the Telegram bot's place in the web application.

The composition root hands over the bot it built (or none, without a bot token); this
mounts bot/webhook.py's handler, or a refusal when the bot or the webhook secret is not
configured, and long polling instead when asked (development)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import setup_application
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.routers.inbox import InboxWiring
from bot.settings import Settings as BotSettings
from bot.setup import Telegram, build_dispatcher
from bot.webhook import WebhookHandler
from callcenter.keys import EVENTS, METRICS, OPENAPI, SESSIONS, SETTINGS
from callcenter.openapi import ROOT, TELEGRAM_SECURITY, error_responses, obj
from callcenter.settings import Settings
from callcenter.web_errors import json_error
from handlers.complaints import ComplaintPolicy
from handlers.inbox.routing import InboxPolicy
from handlers.rejected_updates import keep_rejected_update

log = logging.getLogger(__name__)

BOT = web.AppKey("telegram_bot", Bot)
DISPATCHER = web.AppKey("telegram_dispatcher", Dispatcher)

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


def bot_settings(settings: Settings) -> BotSettings:
    return BotSettings(
        default_region=settings.default_region,
        complaint_categories=tuple(settings.complaint_categories),
        rasa_url=settings.rasa_url,
    )


async def _webhook_disabled(_request: web.Request) -> web.Response:
    return json_error(
        403, "webhook-disabled", "set CONTACTDESK_TELEGRAM_WEBHOOK_SECRET to accept Telegram updates"
    )


async def _polling(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(app[DISPATCHER].start_polling(app[BOT], handle_signals=False))
    yield
    await app[DISPATCHER].stop_polling()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, RuntimeError):
        await task


def setup(
    app: web.Application,
    telegram: Telegram | None,
    complaint_policy: ComplaintPolicy,
    inbox_policy: InboxPolicy,
) -> None:
    settings = app[SETTINGS]
    app[OPENAPI].add(PATHS)
    if telegram is None:
        log.info("no CONTACTDESK_BOT_TOKEN: the Telegram bot is off, everything else runs")
        app.router.add_post("/telegram/webhook", _webhook_disabled)
        return

    def sessions() -> AsyncSession:
        return app[SESSIONS]()  # opened at startup, after the dispatcher is built

    async def keep_rejected(raw: bytes, error: str, update_id: int | None) -> None:
        async with app[SESSIONS]() as session:
            if await keep_rejected_update(session, raw, error, update_id):
                app[METRICS].telegram_rejected_updates.inc()

    async def keep_unhandled(update: Update) -> None:
        # Already claimed by the dispatcher's middleware: the first delivery is kept.
        raw = update.model_dump_json(exclude_unset=True, by_alias=True).encode()
        await keep_rejected(raw, f"no handler takes a {update.event_type} update", None)

    bot = telegram.bot
    dispatcher = build_dispatcher(
        sessions,
        bot_settings(settings),
        complaint_policy,
        InboxWiring(inbox_policy, lambda: app[EVENTS]),
        keep_unhandled,
    )
    app[BOT] = bot
    app[DISPATCHER] = dispatcher
    if settings.telegram_webhook_secret:
        WebhookHandler(
            dispatcher, bot, secret_token=settings.telegram_webhook_secret, on_rejected=keep_rejected
        ).register(app, path="/telegram/webhook")
    else:
        log.warning("no CONTACTDESK_TELEGRAM_WEBHOOK_SECRET: the Telegram webhook refuses every update")
        app.router.add_post("/telegram/webhook", _webhook_disabled)
    setup_application(app, dispatcher, bot=bot)
    if settings.telegram_polling:
        app.cleanup_ctx.append(_polling)
