"""Per-update plumbing: exactly-once handling, private chats only, a database session, who
is writing, in which language to answer, and keeping what no handler took."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import Chat, TelegramObject, Update, User
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from bot.texts import t
from handlers import chat, telegram_updates
from templates import language_of

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
Unhandled = Callable[[Update], Awaitable[None]]

# Chats others read: nothing about a customer is ever read or written there.
SHARED_CHATS = frozenset({"group", "supergroup", "channel"})


def _private_chat(update: Update) -> str | None:
    """The private chat a message came from: one that can write to us has not blocked us."""
    message = update.message
    return str(message.chat.id) if message is not None and message.chat.type == "private" else None


def _sender(update: Update) -> User | None:
    for event in (update.message, update.callback_query, update.edited_message):
        if event is not None and event.from_user is not None:
            return event.from_user
    return None


async def answer_in_shared_chat(update: Update, chat: Chat, user: User | None, bot: Bot) -> None:
    """In a group, supergroup or channel the bot reads no customer and posts nothing about
    one: whatever is asked there, the one answer is "write to me privately", in the asker's
    language. What people write (text, a caption) gets it; in a channel, where every post is
    the channel's own, only a command does; a button pressed there is answered in a popup
    only its presser sees; anything else (service messages, edits, members) gets nothing."""
    hint = t("private_only", language_of(user.language_code if user else None))
    if update.callback_query is not None:
        await bot.answer_callback_query(update.callback_query.id, text=hint, show_alert=True)
        return
    message = update.message or update.channel_post
    if message is None:
        return
    written = message.text or message.caption or ""
    if written and (chat.type != "channel" or written.startswith("/")):
        await bot.send_message(chat.id, hint)


class UpdateContext(BaseMiddleware):
    """Outer middleware on updates. The database remembers each update_id, so a re-delivery
    (Telegram retries until it gets a 200, or another instance got it) is handled once; a
    failure forgets it again so that Telegram's retry is handled. A private chat's message
    clears its blocked mark (handlers.telegram_updates.claim). An update from a shared chat
    goes to no router (answer_in_shared_chat); one that no router takes is handed to
    `on_unhandled`, to be kept for inspection."""

    def __init__(
        self, sessions: Callable[[], AsyncSession], settings: Settings, on_unhandled: Unhandled | None = None
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._on_unhandled = on_unhandled

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)  # noqa: S101 - registered on dispatcher.update only
        async with self._sessions() as session:
            if not await telegram_updates.claim(session, event.update_id, from_chat=_private_chat(event)):
                log.info("update %s already handled; ignored", event.update_id)
                return None
        try:
            where: Chat | None = data.get("event_chat")  # set by aiogram's own outer middleware
            if where is not None and where.type in SHARED_CHATS:
                await answer_in_shared_chat(event, where, data.get("event_from_user"), data["bot"])
                return None
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
                result = await handler(event, data)
            if result is UNHANDLED and self._on_unhandled is not None:
                log.info("update %s: no handler takes a %s; kept", event.update_id, event.event_type)
                await self._on_unhandled(event)
            return result
        except Exception:
            async with self._sessions() as session:
                await telegram_updates.release(session, event.update_id)
            raise
