"""Answers to "are you satisfied?", CSAT and NPS buttons, and the comment that may follow."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts import t
from handlers import campaigns, complaints, surveys
from handlers.errors import Conflict, DomainError
from storage.customers import CustomerRecord


class Comment(StatesGroup):
    waiting = State()


async def satisfied(
    query: CallbackQuery, session: AsyncSession, customer: CustomerRecord | None, lang: str
) -> None:
    await query.answer()
    parts = (query.data or "").split(":")
    if (
        customer is None
        or len(parts) != 3
        or not parts[1].isdigit()
        or not isinstance(query.message, Message)
    ):
        return
    try:
        await complaints.customer_satisfied(session, customer.id, int(parts[1]), parts[2] == "yes")
    except DomainError:
        await query.message.answer(t("not_waiting", lang))
        return
    await query.message.answer(t("satisfied_yes" if parts[2] == "yes" else "satisfied_no", lang))


async def scored(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, customer: CustomerRecord | None, lang: str
) -> None:
    await query.answer()
    _, survey_id, score = (query.data or "").split(":")
    if customer is None or not isinstance(query.message, Message):
        return
    try:
        await surveys.answer(session, int(survey_id), int(score), customer_id=customer.id)
    except Conflict as error:
        await query.message.answer(
            t("survey_expired" if error.error_id == "survey-expired" else "survey_already", lang)
        )
        return
    except DomainError:
        return
    await state.set_state(Comment.waiting)
    await state.update_data(survey_id=int(survey_id))
    await query.message.answer(t("survey_thanks", lang))


async def comment(
    message: Message, state: FSMContext, session: AsyncSession, customer: CustomerRecord | None, lang: str
) -> None:
    data = await state.get_data()
    await state.set_state(None)
    if customer is None or "survey_id" not in data:
        return
    try:
        await surveys.add_comment(
            session, int(data["survey_id"]), message.text or "", customer_id=customer.id
        )
    except DomainError:
        return
    await message.answer(t("comment_thanks", lang))


async def offer_interest(
    query: CallbackQuery, session: AsyncSession, customer: CustomerRecord | None, lang: str
) -> None:
    await query.answer()
    _, target_id, _answer = (query.data or "").split(":")
    if customer is None or not isinstance(query.message, Message):
        return
    try:
        await campaigns.offer_accepted(
            session, customer_id=customer.id, target_id=int(target_id), channel="telegram"
        )
    except DomainError:
        return
    await query.message.answer(t("offer_thanks", lang))


def build() -> Router:
    """A fresh router per dispatcher: aiogram attaches a router to one parent only."""
    router = Router(name="surveys")
    router.callback_query.register(satisfied, F.data.startswith("sat:"))
    router.callback_query.register(scored, F.data.regexp(r"^(csat|nps):\d+:\d+$"))
    router.callback_query.register(offer_interest, F.data.regexp(r"^offer:\d+:yes$"))
    router.message.register(comment, Comment.waiting, F.text)
    return router
