"""What Telegram says about the bot's place in a private chat (`my_chat_member`): the
customer blocked the bot (kicked) or let it back in (member)."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import ChatMemberUpdated
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import telegram_updates


async def membership_changed(event: ChatMemberUpdated, session: AsyncSession) -> None:
    status = event.new_chat_member.status
    await telegram_updates.bot_membership(session, str(event.chat.id), getattr(status, "value", str(status)))


def build() -> Router:
    """A fresh router per dispatcher: aiogram attaches a router to one parent only."""
    router = Router(name="membership")
    # Shared chats never reach the routers (bot/middlewares.py): this is a private chat.
    router.my_chat_member.register(membership_changed)
    return router
