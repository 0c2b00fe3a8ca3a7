"""The Telegram webhook: aiogram's request handler, with what a public door needs.

Telegram re-delivers an update until it gets a 200. An update aiogram cannot read (not
JSON, not an Update, an update_id or text the database cannot store) would come back
forever, so it is answered 200 and handed to `on_rejected` to be kept for inspection. The
secret is checked first, and as bytes: aiogram compares str, which raises on non-ASCII."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError

from handlers.inputs import MAX_ID, storable

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
Rejected = Callable[[bytes, str], Awaitable[None]]


class UnreadableUpdate(ValueError):
    pass


def _encoded(text: str) -> bytes:
    # aiohttp hands over undecodable header bytes as surrogate escapes; keep them exact.
    return text.encode("utf-8", "surrogateescape")


def read_update(raw: bytes, bot: Bot) -> Update:
    """The update in `raw`, or UnreadableUpdate saying why not."""
    try:
        data = bot.session.json_loads(raw)
    except RecursionError as error:
        raise UnreadableUpdate("not JSON: nested too deeply") from error
    except ValueError as error:  # bad JSON, bytes that are not UTF-8
        raise UnreadableUpdate(f"not JSON: {error}") from error
    if not isinstance(data, dict):
        raise UnreadableUpdate("not a JSON object")
    if not storable(data):
        raise UnreadableUpdate("text holds NUL characters or lone surrogates")
    try:
        update = Update.model_validate(data, context={"bot": bot})
    except ValidationError as error:
        raise UnreadableUpdate(f"not a Telegram update: {error}") from error
    if not -MAX_ID - 1 <= update.update_id <= MAX_ID:
        raise UnreadableUpdate("update_id is beyond 64 bits")
    return update


class WebhookHandler(SimpleRequestHandler):
    def __init__(
        self, dispatcher: Dispatcher, bot: Bot, *, secret_token: str, on_rejected: Rejected, **data: Any
    ) -> None:
        super().__init__(dispatcher, bot, handle_in_background=False, secret_token=secret_token, **data)
        self._secret = _encoded(secret_token)
        self._on_rejected = on_rejected

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        return hmac.compare_digest(_encoded(telegram_secret_token), self._secret)

    async def handle(self, request: web.Request) -> web.Response:
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), self.bot):
            return web.json_response(
                {"error": "bad-secret", "message": f"{SECRET_HEADER} does not match"}, status=401
            )
        raw = await request.read()
        try:
            update = read_update(raw, self.bot)
        except UnreadableUpdate as error:
            log.warning("kept an unreadable Telegram update of %s bytes", len(raw))
            await self._on_rejected(raw, str(error))
            return web.json_response({})
        result: TelegramMethod[Any] | None
        result = await self.dispatcher.feed_webhook_update(self.bot, update, **self.data)
        return web.Response(body=self._build_response_writer(bot=self.bot, result=result))

    __call__ = handle
