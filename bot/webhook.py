"""The Telegram webhook: aiogram's request handler, with what a public door needs.

Telegram re-delivers an update until it gets a 200. An update we cannot read (not JSON,
not an Update, numbers or text the database cannot store, a sender id that is no user's,
an event type newer than our aiogram) would come back forever, so it is answered 200 and
handed to `on_rejected` to be kept for inspection (once per update_id, when it has one).
The secret is checked first, and as bytes: aiogram compares str, which raises on non-ASCII."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.types.update import UpdateTypeLookupError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError

from handlers.inputs import MAX_ID, storable

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
Rejected = Callable[[bytes, str, int | None], Awaitable[None]]


class UnreadableUpdate(ValueError):
    def __init__(self, reason: str, update_id: int | None = None) -> None:
        super().__init__(reason)
        self.update_id = update_id  # when the body names one: its repeats are ignored


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
    named = data.get("update_id")
    update_id = named if type(named) is int and 0 <= named <= MAX_ID else None
    if not storable(data):
        raise UnreadableUpdate("text holds NUL characters or lone surrogates", update_id)
    if problem := _unstorable_numbers(data):
        raise UnreadableUpdate(problem, update_id)
    try:
        update = Update.model_validate(data, context={"bot": bot})
    except ValidationError as error:
        raise UnreadableUpdate(f"not a Telegram update: {error}", update_id) from error
    try:
        update.event_type  # noqa: B018 - the lookup is the check
    except UpdateTypeLookupError as error:
        raise UnreadableUpdate("no event this version of aiogram knows", update_id) from error
    return update


def _unstorable_numbers(data: Any) -> str | None:
    """What is wrong with the update's numbers: any beyond 64 bits, or a sender (`from`)
    whose id is not a positive user id, which identifies no chat we could link."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, int) and not -MAX_ID - 1 <= item <= MAX_ID:
            return "a number is beyond 64 bits"
        if isinstance(item, dict):
            sender = item.get("from")
            if isinstance(sender, dict) and not (isinstance(sender.get("id"), int) and sender["id"] > 0):
                return "a sender's id is not a user id"
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


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
            log.warning("an unreadable Telegram update of %s bytes", len(raw))
            await self._on_rejected(raw, str(error), error.update_id)
            return web.json_response({})
        result: TelegramMethod[Any] | None
        result = await self.dispatcher.feed_webhook_update(self.bot, update, **self.data)
        return web.Response(body=self._build_response_writer(bot=self.bot, result=result))

    __call__ = handle
