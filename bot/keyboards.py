"""Keyboards; every label comes from a template in the customer's language."""

from __future__ import annotations

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.texts import category_name, t

REMOVE = ReplyKeyboardRemove()


def share_phone(language: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=t("button_share_phone", language), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def categories(language: str, names: tuple[str, ...]) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(text=category_name(n, language), callback_data=f"cat:{n}") for n in names]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def skip(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t("button_skip", language), callback_data="skip")]]
    )


def confirm(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=t("button_confirm", language), callback_data="confirm:yes"),
                InlineKeyboardButton(text=t("button_cancel", language), callback_data="confirm:no"),
            ]
        ]
    )


def for_outbox(kind: str, payload: dict[str, object], language: str) -> InlineKeyboardMarkup | None:
    """The buttons a queued message carries, by its kind (see the outbox contract)."""
    if kind == "satisfaction_question":
        complaint = payload["complaint_id"]
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=t("button_yes", language), callback_data=f"sat:{complaint}:yes"
                    ),
                    InlineKeyboardButton(text=t("button_no", language), callback_data=f"sat:{complaint}:no"),
                ]
            ]
        )
    if kind in ("csat_survey", "nps_survey"):
        survey = payload["survey_id"]
        scale = range(1, 6) if kind == "csat_survey" else range(11)
        prefix = kind.split("_")[0]
        buttons = [InlineKeyboardButton(text=str(s), callback_data=f"{prefix}:{survey}:{s}") for s in scale]
        rows = [buttons] if kind == "csat_survey" else [buttons[:6], buttons[6:]]
        return InlineKeyboardMarkup(inline_keyboard=rows)
    return None
