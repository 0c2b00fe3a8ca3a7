"""Bot texts come from templates/messages/tg_*.j2 in the customer's language."""

from __future__ import annotations

from typing import Any

from templates import message


def t(key: str, language: str, /, **context: Any) -> str:
    return message(f"tg_{key}", language, **context)


def state_names(language: str) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in t("state_names", language).split(";"))
    return {key.strip(): value.strip() for key, value in pairs}
