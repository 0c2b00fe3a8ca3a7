"""Keyboards; every label comes from a template in the customer's language."""

from __future__ import annotations

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.callbacks import (
    SCORES,
    SKIPPED,
    Category,
    Confirm,
    QuestionAnswer,
    QuestionnaireStart,
    Satisfied,
    Skip,
)
from bot.texts import category_name, t
from storage.questionnaires import QuestionView

REMOVE = ReplyKeyboardRemove()


def share_phone(language: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=t("button_share_phone", language), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def categories(language: str, names: tuple[str, ...]) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(text=category_name(n, language), callback_data=Category(name=n).pack())
        for n in names
    ]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def skip(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t("button_skip", language), callback_data=Skip().pack())]]
    )


def confirm(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t("button_confirm", language), callback_data=Confirm(answer="yes").pack()
                ),
                InlineKeyboardButton(
                    text=t("button_cancel", language), callback_data=Confirm(answer="no").pack()
                ),
            ]
        ]
    )


def question(survey_id: int, asked: QuestionView, language: str) -> InlineKeyboardMarkup:
    """A questionnaire question's buttons: the scale, the options one a row, or Skip for text."""

    def button(label: str, value: int) -> InlineKeyboardButton:
        data = QuestionAnswer(survey_id=survey_id, question_id=asked.id, value=value).pack()
        return InlineKeyboardButton(text=label, callback_data=data)

    if asked.kind == "scale5":
        rows = [[button(str(v), v) for v in range(1, 6)]]
    elif asked.kind == "scale10":
        scale = [button(str(v), v) for v in range(11)]
        rows = [scale[:6], scale[6:]]
    elif asked.kind == "choice":
        rows = [
            [button(choice.get(language) or next(iter(choice.values())), n)]
            for n, choice in enumerate(asked.choices, start=1)
        ]
    else:
        rows = [[button(t("button_skip", language), SKIPPED)]]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def for_outbox(kind: str, payload: dict[str, object], language: str) -> InlineKeyboardMarkup | None:
    """The buttons a queued message carries, by its kind (see the outbox contract)."""
    if kind == "satisfaction_question":
        complaint = int(str(payload["complaint_id"]))
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=t("button_yes", language),
                        callback_data=Satisfied(complaint_id=complaint, answer="yes").pack(),
                    ),
                    InlineKeyboardButton(
                        text=t("button_no", language),
                        callback_data=Satisfied(complaint_id=complaint, answer="no").pack(),
                    ),
                ]
            ]
        )
    if kind == "quest_survey":
        start = QuestionnaireStart(survey_id=int(str(payload["survey_id"]))).pack()
        return InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text=t("button_start", language), callback_data=start)]]
        )
    if kind in ("csat_survey", "nps_survey"):
        survey = int(str(payload["survey_id"]))
        scale = range(1, 6) if kind == "csat_survey" else range(11)
        score = SCORES[kind.split("_")[0]]
        buttons = [
            InlineKeyboardButton(text=str(s), callback_data=score(survey_id=survey, score=s).pack())
            for s in scale
        ]
        rows = [buttons] if kind == "csat_survey" else [buttons[:6], buttons[6:]]
        return InlineKeyboardMarkup(inline_keyboard=rows)
    return None
