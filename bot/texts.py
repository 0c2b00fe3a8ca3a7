"""Bot texts come from templates/messages/tg_*.j2 in the customer's language."""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateNotFound

from templates import message


def t(key: str, language: str, /, **context: Any) -> str:
    return message(f"tg_{key}", language, **context)


def category_name(category: str, language: str) -> str:
    """A category's name for customers; one the operator configured without a text of its
    own (CONTACTDESK_COMPLAINT_CATEGORIES) is shown as configured."""
    try:
        return t(f"category_{category}", language)
    except TemplateNotFound:
        return category


def state_names(language: str) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in t("state_names", language).split(";"))
    return {key.strip(): value.strip() for key, value in pairs}
