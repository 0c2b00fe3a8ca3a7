"""Lodging a complaint (category, description, optional photo, confirm) and /status."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import Category, Confirm, Skip
from bot.fsm_storage import conversation_key
from bot.settings import Settings
from bot.texts import category_name, state_names, t
from handlers import complaints
from handlers.complaints import ComplaintPolicy
from handlers.conversation_complaint import lodge_and_end_conversation
from storage.audit import Actor
from storage.customers import CustomerRecord


class ComplaintForm(StatesGroup):
    category = State()
    description = State()
    photo = State()
    confirm = State()


async def _refused(message: Message, customer: CustomerRecord | None, lang: str) -> bool:
    if customer is None:
        await message.answer(t("need_phone", lang), reply_markup=keyboards.share_phone(lang))
        return True
    if customer.blacklisted:
        await message.answer(t("blacklisted", lang))
        return True
    return False


async def begin(
    message: Message, state: FSMContext, settings: Settings, customer: CustomerRecord | None, lang: str
) -> None:
    if await _refused(message, customer, lang):
        return
    await state.set_state(ComplaintForm.category)
    await message.answer(
        t("choose_category", lang),
        reply_markup=keyboards.categories(lang, tuple(settings.complaint_categories)),
    )


async def chose_category(
    query: CallbackQuery, callback_data: Category, state: FSMContext, settings: Settings, lang: str
) -> None:
    category = callback_data.name
    await query.answer()
    if category not in settings.complaint_categories or not isinstance(query.message, Message):
        return
    await state.update_data(category=category)
    await state.set_state(ComplaintForm.description)
    await query.message.answer(t("describe", lang))


async def described(message: Message, state: FSMContext, lang: str) -> None:
    text = (message.text or "").strip()
    if not text:
        await message.answer(t("describe_text", lang))
        return
    await state.update_data(description=text[:4000])
    await state.set_state(ComplaintForm.photo)
    await message.answer(t("photo", lang), reply_markup=keyboards.skip(lang))


async def _ask_confirmation(message: Message, state: FSMContext, lang: str) -> None:
    data = await state.get_data()
    await state.set_state(ComplaintForm.confirm)
    await message.answer(
        t(
            "confirm",
            lang,
            category=category_name(data["category"], lang),
            description=data["description"],
            photo=bool(data.get("photo")),
        ),
        reply_markup=keyboards.confirm(lang),
    )


async def photo(message: Message, state: FSMContext, lang: str) -> None:
    # Telegram keeps the file; the largest size's file_id is enough to fetch it later.
    largest = max(message.photo or [], key=lambda p: p.width * p.height)
    await state.update_data(photo=largest.file_id)
    await _ask_confirmation(message, state, lang)


async def no_photo(query: CallbackQuery, state: FSMContext, lang: str) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await _ask_confirmation(query.message, state, lang)


async def confirmed(
    query: CallbackQuery,
    callback_data: Confirm,
    state: FSMContext,
    session: AsyncSession,
    customer: CustomerRecord | None,
    lang: str,
    complaint_policy: ComplaintPolicy,
) -> None:
    await query.answer()
    data = await state.get_data()
    kept = {"lang": data["lang"]} if "lang" in data else {}
    if callback_data.answer != "yes" or customer is None or not isinstance(query.message, Message):
        await state.set_state(None)
        await state.set_data(kept)
        if isinstance(query.message, Message) and customer is not None:
            await query.message.answer(t("cancelled", lang))
        return
    # The complaint and the end of the conversation in one transaction: if saving fails the
    # customer is still at this step and may confirm again; once saved, a second press finds
    # no flow and lodges nothing twice.
    complaint = await lodge_and_end_conversation(
        session,
        conversation_key(state.key),
        keep=kept,
        customer_id=customer.id,
        category=data["category"],
        description=data["description"],
        channel="telegram",
        attachments=[f"telegram:{data['photo']}"] if data.get("photo") else [],
        policy=complaint_policy,
    )
    due = complaint.resolve_due_at.date().isoformat() if complaint.resolve_due_at else ""
    await query.message.answer(t("lodged", lang, ticket=complaint.ticket, due=due))


async def status(message: Message, session: AsyncSession, customer: CustomerRecord | None, lang: str) -> None:
    if await _refused(message, customer, lang) or customer is None:
        return
    sender = message.from_user.id if message.from_user else message.chat.id
    found = await complaints.status(session, Actor(name=f"telegram:{sender}", via="telegram"), customer.id)
    if not found:
        await message.answer(t("status_none", lang))
        return
    items = [
        {
            "ticket": c.ticket,
            "state": c.state,
            "due": c.resolve_due_at.date().isoformat()
            if c.resolve_due_at and c.state not in ("resolved", "closed")
            else "",
        }
        for c in found[:10]
    ]
    await message.answer(t("status", lang, complaints=items, states=state_names(lang)))


async def photo_expected(message: Message, state: FSMContext, lang: str) -> None:
    await message.answer(t("photo", lang), reply_markup=keyboards.skip(lang))


def build() -> Router:
    """A fresh router per dispatcher: aiogram attaches a router to one parent only."""
    router = Router(name="complaints")
    router.message.register(begin, Command("complaint"))
    router.callback_query.register(chose_category, ComplaintForm.category, Category.filter())
    router.message.register(described, ComplaintForm.description)
    router.message.register(photo, ComplaintForm.photo, F.photo)
    router.callback_query.register(no_photo, ComplaintForm.photo, Skip.filter())
    router.callback_query.register(confirmed, ComplaintForm.confirm, Confirm.filter())
    router.message.register(status, Command("status"))
    router.message.register(photo_expected, StateFilter(ComplaintForm.photo))
    return router
