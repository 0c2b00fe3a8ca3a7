"""Answers to "are you satisfied?", CSAT and NPS buttons, and the comment that may follow."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CsatScore, NpsScore, OfferInterest, Satisfied
from bot.texts import t
from handlers import campaigns, complaints, surveys
from handlers.complaints import ComplaintPolicy
from handlers.errors import Conflict, DomainError
from storage.customers import CustomerRecord


class Comment(StatesGroup):
    waiting = State()


async def satisfied(
    query: CallbackQuery,
    callback_data: Satisfied,
    session: AsyncSession,
    customer: CustomerRecord | None,
    lang: str,
    complaint_policy: ComplaintPolicy,
) -> None:
    await query.answer()
    yes = callback_data.answer == "yes"
    if customer is None or not isinstance(query.message, Message):
        return
    try:
        await complaints.customer_satisfied(
            session, customer.id, callback_data.complaint_id, yes, policy=complaint_policy
        )
    except DomainError:
        await query.message.answer(t("not_waiting", lang))
        return
    await query.message.answer(t("satisfied_yes" if yes else "satisfied_no", lang))


async def scored(
    query: CallbackQuery,
    callback_data: CsatScore | NpsScore,
    state: FSMContext,
    session: AsyncSession,
    customer: CustomerRecord | None,
    lang: str,
) -> None:
    await query.answer()
    survey_id, score = callback_data.survey_id, callback_data.score
    if customer is None or not isinstance(query.message, Message):
        return
    try:
        await surveys.answer(session, survey_id, score, customer_id=customer.id)
    except Conflict as error:
        await query.message.answer(
            t("survey_expired" if error.error_id == "survey-expired" else "survey_already", lang)
        )
        return
    except DomainError:
        return
    await state.set_state(Comment.waiting)
    await state.update_data(survey_id=survey_id)
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
    query: CallbackQuery,
    callback_data: OfferInterest,
    session: AsyncSession,
    customer: CustomerRecord | None,
    lang: str,
) -> None:
    await query.answer()
    if customer is None or not isinstance(query.message, Message):
        return
    try:
        await campaigns.offer_accepted(
            session, customer_id=customer.id, target_id=callback_data.target_id, channel="telegram"
        )
    except DomainError:
        return
    await query.message.answer(t("offer_thanks", lang))


def build() -> Router:
    """A fresh router per dispatcher: aiogram attaches a router to one parent only."""
    router = Router(name="surveys")
    router.callback_query.register(satisfied, Satisfied.filter())
    router.callback_query.register(scored, CsatScore.filter())
    router.callback_query.register(scored, NpsScore.filter())
    router.callback_query.register(offer_interest, OfferInterest.filter())
    router.message.register(comment, Comment.waiting, F.text)
    return router
