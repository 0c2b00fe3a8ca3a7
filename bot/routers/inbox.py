"""Talking to a person: `/agent` and the "talk to a person" button hand the customer over
(handlers/inbox/routing.py); while their conversation is live, the bot stays silent and
their text and photos go to the agent. Commands still work, and the flows (a complaint, a
survey comment) keep their messages: this router comes after theirs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import Choice, Handoff
from bot.routers import complaints
from bot.settings import Settings
from bot.texts import t
from handlers.inbox import lifecycle, routing
from handlers.inbox import messages as inbox_messages
from handlers.inbox.routing import InboxPolicy
from storage import inbox as inbox_repo
from storage.customers import CustomerRecord
from storage.events import EventBus


@dataclass(frozen=True)
class InboxWiring:
    """What the inbox handlers get from the composition root (as `inbox`): the routing
    policy, and the event bus, opened with the application after the dispatcher is built."""

    policy: InboxPolicy
    events: Callable[[], EventBus]


LABELS: dict[Choice, str] = {
    "person": "button_agent",
    "menu": "button_menu",
    "callback": "button_callback",
    "complaint": "button_complaint",
}


def _buttons(language: str, *choices: Choice) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=t(LABELS[c], language), callback_data=Handoff(choice=c).pack())]
            for c in choices
        ]
    )


def person_or_menu(language: str) -> InlineKeyboardMarkup:
    """The choice offered when the bot cannot help: a person, or the menu."""
    return _buttons(language, "person", "menu")


async def _hand_over(
    message: Message, session: AsyncSession, inbox: InboxWiring, customer: CustomerRecord | None, lang: str
) -> None:
    if customer is None:
        await message.answer(t("need_phone", lang), reply_markup=keyboards.share_phone(lang))
        return
    handoff = await routing.ask_for_agent(
        session,
        inbox.events(),
        inbox.policy,
        customer_id=customer.id,
        channel="telegram",
        address=str(message.chat.id),
    )
    if handoff.outcome == "refused":
        await message.answer(t("blacklisted", lang))
    elif handoff.outcome == "assigned":
        await message.answer(t("agent_assigned", lang, agent=handoff.agent_name))
    else:
        await message.answer(
            t(f"agent_{handoff.outcome}", lang, minutes=handoff.wait_minutes),
            reply_markup=_buttons(lang, "callback", "complaint"),
        )


async def ask_for_agent(
    message: Message, session: AsyncSession, inbox: InboxWiring, customer: CustomerRecord | None, lang: str
) -> None:
    await _hand_over(message, session, inbox, customer, lang)


async def chose(
    query: CallbackQuery,
    callback_data: Handoff,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    inbox: InboxWiring,
    customer: CustomerRecord | None,
    lang: str,
) -> None:
    await query.answer()
    message = query.message
    if not isinstance(message, Message):
        return
    if callback_data.choice == "person":
        await _hand_over(message, session, inbox, customer, lang)
    elif callback_data.choice == "menu":
        await message.answer(t("menu", lang), reply_markup=person_or_menu(lang))
    elif customer is not None:
        left = await lifecycle.leave_queue(session, inbox.events(), customer.id, callback_data.choice)
        if left is None:
            await message.answer(t("agent_already_joined", lang))
        elif callback_data.choice == "callback":
            await message.answer(t("callback_requested", lang))
        else:
            await complaints.begin(message, state, settings, customer, lang)


async def in_conversation(
    message: Message, session: AsyncSession, customer: CustomerRecord | None
) -> bool | dict[str, Any]:
    """A filter: the customer has a live conversation (waiting or with an agent)."""
    if customer is None:
        return False
    return await inbox_repo.live_for_customer(session, customer.id) is not None


async def to_agent(
    message: Message, session: AsyncSession, inbox: InboxWiring, customer: CustomerRecord
) -> None:
    """Stored and pushed to the agent; the bot says nothing."""
    photo = message.photo[-1].file_id if message.photo else None
    await inbox_messages.from_customer(
        session,
        inbox.events(),
        customer_id=customer.id,
        text=message.text or message.caption or "",
        photo=photo,
        external_id=f"{message.chat.id}:{message.message_id}",
    )


def build() -> Router:
    """A fresh router per dispatcher: aiogram attaches a router to one parent only."""
    router = Router(name="inbox")
    router.message.register(ask_for_agent, Command("agent"))
    router.callback_query.register(chose, Handoff.filter())
    router.message.register(
        to_agent, F.chat.type == "private", (F.text & ~F.text.startswith("/")) | F.photo, in_conversation
    )
    return router
