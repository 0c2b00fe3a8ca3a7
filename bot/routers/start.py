"""/start, sharing the phone, /lang, /stop, and free text outside a flow."""

from __future__ import annotations

import functools
import logging

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.rasa_forward import RasaForwarder
from bot.routers.inbox import person_or_menu
from bot.settings import Settings
from bot.texts import t
from handlers import chat
from handlers.errors import Conflict, InvalidInput
from storage.customers import CustomerRecord

log = logging.getLogger(__name__)


async def start(message: Message, session: AsyncSession, customer: CustomerRecord | None, lang: str) -> None:
    if customer is None:
        name = message.from_user.first_name if message.from_user else ""
        await message.answer(t("welcome", lang, name=name), reply_markup=keyboards.share_phone(lang))
        return
    if customer.blacklisted:
        await message.answer(t("blacklisted", lang), reply_markup=keyboards.REMOVE)
        return
    if customer.marketing_opt_out:
        await chat.set_marketing_consent(session, customer.id, opted_out=False)
    await message.answer(
        t("linked", lang, name=customer.name) + "\n\n" + t("menu", lang), reply_markup=keyboards.REMOVE
    )


async def shared_contact(message: Message, session: AsyncSession, settings: Settings, lang: str) -> None:
    contact = message.contact
    sender = message.from_user
    if contact is None or sender is None or contact.user_id != sender.id:
        await message.answer(t("foreign_contact", lang), reply_markup=keyboards.share_phone(lang))
        return
    try:
        linked = await chat.link_by_phone(
            session,
            "telegram",
            str(sender.id),
            contact.phone_number,
            name=" ".join(p for p in (contact.first_name, contact.last_name) if p),
            language=lang,
            region=settings.default_region,
        )
    except InvalidInput:
        await message.answer(t("bad_phone", lang), reply_markup=keyboards.share_phone(lang))
        return
    except Conflict:
        await message.answer(t("linked_elsewhere", lang), reply_markup=keyboards.REMOVE)
        return
    if linked.customer.blacklisted:
        await message.answer(t("blacklisted", lang), reply_markup=keyboards.REMOVE)
        return
    greeting = t("prospect", lang) if linked.created else t("linked", lang, name=linked.customer.name)
    await message.answer(greeting + "\n\n" + t("menu", lang), reply_markup=keyboards.REMOVE)


async def switch_language(
    message: Message, session: AsyncSession, state: FSMContext, customer: CustomerRecord | None, lang: str
) -> None:
    arguments = (message.text or "").split()[1:]
    chosen = (
        arguments[0].lower()
        if arguments and arguments[0].lower() in ("zh", "en")
        else ("en" if lang == "zh" else "zh")
    )
    await state.update_data(lang=chosen)
    if customer is not None:
        await chat.set_language(session, customer.id, chosen)
    await message.answer(t("lang_switched", chosen))


async def stop(message: Message, session: AsyncSession, customer: CustomerRecord | None, lang: str) -> None:
    if customer is None:
        await message.answer(t("need_phone", lang), reply_markup=keyboards.share_phone(lang))
        return
    await chat.set_marketing_consent(session, customer.id, opted_out=True)
    await message.answer(t("stopped", lang))


async def menu(message: Message, lang: str) -> None:
    await message.answer(t("menu", lang), reply_markup=person_or_menu(lang))


async def free_text(
    message: Message, settings: Settings, customer: CustomerRecord | None, lang: str, *, rasa: RasaForwarder
) -> None:
    """Outside a flow: a Rasa assistant answers when one is configured; what nobody could
    answer gets the menu with a person offered, not the menu alone again."""
    if customer is not None and customer.blacklisted:
        await message.answer(t("blacklisted", lang))
        return
    if settings.rasa_url and message.from_user is not None:
        replies = await rasa.ask(settings.rasa_url, str(message.from_user.id), message.text or "", lang)
        if replies:
            for reply in replies:
                await message.answer(reply)
            return
    await message.answer(t("menu", lang), reply_markup=person_or_menu(lang))


def build() -> Router:
    """A fresh router per dispatcher: aiogram attaches a router to one parent only."""
    router = Router(name="start")
    router.message.register(start, CommandStart())
    router.message.register(shared_contact, F.contact)
    router.message.register(switch_language, Command("lang"))
    router.message.register(stop, Command("stop"))
    router.message.register(menu, Command("menu"))
    return router


def build_fallback() -> Router:
    """A fresh router per dispatcher: aiogram attaches a router to one parent only."""
    router = Router(name="fallback")
    # One forwarder (one HTTP client) per dispatcher, closed when the dispatcher shuts down.
    rasa = RasaForwarder()
    router.message.register(functools.partial(free_text, rasa=rasa), F.text)
    router.shutdown.register(rasa.close)
    return router
