"""Keyboards; every label comes from a template in the customer's language."""

from __future__ import annotations

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.callbacks import SCORES, Category, Confirm, Satisfied, Skip
from bot.texts import category_name, t

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
