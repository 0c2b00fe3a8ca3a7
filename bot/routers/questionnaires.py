"""Questionnaires on Telegram: one question at a time with buttons, free text typed; a
customer who stops carries on where they left off on their next message or `/survey`."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import SKIPPED, QuestionAnswer, QuestionnaireStart
from bot.texts import t
from handlers import questionnaires
from handlers.errors import Conflict, DomainError, InvalidInput, NotFound
from handlers.questionnaires import Given, Progress
from storage.customers import CustomerRecord


async def ask_next(message: Message, found: Progress, lang: str) -> None:
    """The next unanswered question with its buttons, or thanks when none is left."""
    asked = found.next
    if asked is None:
        await message.answer(t("quest_done", lang))
        return
    text = asked.text.get(lang) or next(iter(asked.text.values()))
    await message.answer(
        t("quest_question", lang, number=found.number(asked), count=found.count, text=text, kind=asked.kind),
        reply_markup=keyboards.question(found.survey_id, asked, lang),
    )


async def _record(
    message: Message,
    session: AsyncSession,
    customer_id: int,
    survey_id: int,
    question_id: int,
    given: Given,
    lang: str,
) -> None:
    """Record one answer and say what comes next; a wrong answer is told, nothing is lost."""
    try:
        found = await questionnaires.answer(
            session, survey_id, question_id, given, channel="telegram", customer_id=customer_id
        )
    except InvalidInput as error:
        if error.error_id == "out-of-range":
            await message.answer(t("quest_out_of_range", lang, **error.details))
        current = await questionnaires.progress(session, survey_id, customer_id=customer_id)
        await ask_next(message, current, lang)
        return
    except Conflict:
        await message.answer(t("survey_expired", lang))
        return
    except NotFound:
        await message.answer(t("quest_none", lang))
        return
    if not found.recorded:
        await message.answer(t("quest_already", lang))
    await ask_next(message, found, lang)


async def start(
    query: CallbackQuery,
    callback_data: QuestionnaireStart,
    session: AsyncSession,
    customer: CustomerRecord | None,
    lang: str,
) -> None:
    await query.answer()
    if customer is None or not isinstance(query.message, Message):
        return
    try:
        found = await questionnaires.progress(session, callback_data.survey_id, customer_id=customer.id)
    except DomainError:
        await query.message.answer(t("quest_none", lang))
        return
    if found.expired:
        await query.message.answer(t("survey_expired", lang))
        return
    await ask_next(query.message, found, lang)


async def answered(
    query: CallbackQuery,
    callback_data: QuestionAnswer,
    session: AsyncSession,
    customer: CustomerRecord | None,
    lang: str,
) -> None:
    await query.answer()
    if customer is None or not isinstance(query.message, Message):
        return
    skip = callback_data.value == SKIPPED
    given = Given(skip=True) if skip else Given(value=callback_data.value)
    await _record(
        query.message, session, customer.id, callback_data.survey_id, callback_data.question_id, given, lang
    )


async def resume_command(
    message: Message, session: AsyncSession, customer: CustomerRecord | None, lang: str
) -> None:
    """`/survey` (or `/survey resume`): the questionnaire in hand, from its first open question."""
    found = await questionnaires.open_for_customer(session, customer.id) if customer else None
    if found is None:
        await message.answer(t("quest_none", lang))
        return
    if found.answers:
        await message.answer(t("quest_resume", lang))
    await ask_next(message, found, lang)


async def in_questionnaire(
    message: Message, session: AsyncSession, customer: CustomerRecord | None
) -> bool | dict[str, Progress]:
    """A filter: the writer is in the middle of a questionnaire (begun, not finished)."""
    if customer is None or (message.text or "").startswith("/"):
        return False
    found = await questionnaires.open_for_customer(session, customer.id, started=True)
    return False if found is None else {"questionnaire": found}


async def carry_on(
    message: Message, session: AsyncSession, customer: CustomerRecord, questionnaire: Progress, lang: str
) -> None:
    """A message while a questionnaire is open: the answer to a free-text question, a typed
    number for a scale or a choice, or else the question asked again."""
    asked = questionnaire.next
    typed = (message.text or "").strip()
    if asked is None:
        return
    if asked.kind == "text":
        given = Given(text=typed)
    elif typed.isascii() and typed.isdigit() and len(typed) <= 3:
        given = Given(value=int(typed))
    else:
        await message.answer(t("quest_resume", lang))
        await ask_next(message, questionnaire, lang)
        return
    await _record(message, session, customer.id, questionnaire.survey_id, asked.id, given, lang)


def build() -> Router:
    """Buttons and `/survey`: before the flows that take free text."""
    router = Router(name="questionnaires")
    router.callback_query.register(start, QuestionnaireStart.filter())
    router.callback_query.register(answered, QuestionAnswer.filter())
    router.message.register(resume_command, Command("survey"))
    return router


def build_resume() -> Router:
    """A questionnaire's typed answers: after a live chat with an agent (which takes the
    customer's messages first), before the assistant's free text."""
    router = Router(name="questionnaire-resume")
    router.message.register(carry_on, F.text, in_questionnaire)
    return router
