"""Per-update plumbing: exactly-once handling, a database session, who is writing, and in
which language to answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update, User
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from handlers import chat, telegram_updates
from templates import language_of

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def _private_chat(update: Update) -> str | None:
    """The private chat a message came from: one that can write to us has not blocked us."""
    message = update.message
    return str(message.chat.id) if message is not None and message.chat.type == "private" else None


def _sender(update: Update) -> User | None:
    for event in (update.message, update.callback_query, update.edited_message):
        if event is not None and event.from_user is not None:
            return event.from_user
    return None


class UpdateContext(BaseMiddleware):
    """Outer middleware on updates. The database remembers each update_id, so a re-delivery
    (Telegram retries until it gets a 200, or another instance got it) is handled once; a
    failure forgets it again so that Telegram's retry is handled. A private chat's message
    clears its blocked mark (handlers.telegram_updates.claim)."""

    def __init__(self, sessions: Callable[[], AsyncSession], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)  # noqa: S101 - registered on dispatcher.update only
        async with self._sessions() as session:
            if not await telegram_updates.claim(session, event.update_id, from_chat=_private_chat(event)):
                log.info("update %s already handled; ignored", event.update_id)
                return None
        try:
            async with self._sessions() as session:
                user = _sender(event)
                customer = await chat.customer_for_chat(session, "telegram", str(user.id)) if user else None
                chosen = None
                state = data.get("state")
                if state is not None:
                    chosen = (await state.get_data()).get("lang")
                data.update(
                    session=session,
                    settings=self._settings,
                    customer=customer,
                    lang=language_of(
                        (customer.language if customer else None)
                        or chosen
                        or (user.language_code if user else None)
                    ),
                )
                return await handler(event, data)
        except Exception:
            async with self._sessions() as session:
                await telegram_updates.release(session, event.update_id)
            raise
