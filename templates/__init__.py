"""jinja2 templates, shipped as package data: customer messages (zh, en), TwiML, cards, pages.

Customer-facing text is never built in code: it is rendered from a file here.
Messages live in `messages/<name>.<language>.j2`; a language we have no text for
falls back to Chinese, then English.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound, select_autoescape

LANGUAGES = ("zh", "en")
FALLBACK = ("zh", "en")


@cache
def environment() -> Environment:
    # Autoescape for .html/.xml (cards, pages, TwiML); message texts are plain.
    return Environment(
        loader=PackageLoader("templates", ""),
        autoescape=select_autoescape(["html", "xml", "html.j2", "xml.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render(template_name: str, /, **context: Any) -> str:
    return environment().get_template(template_name).render(**context)


def language_of(code: str | None) -> str:
    """Our language for a customer's or a Telegram user's language code ('en-US' → 'en')."""
    base = (code or "").split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else FALLBACK[0]


def message(template: str, language: str | None, /, **context: Any) -> str:
    """A customer message in their language, falling back when we have no such text."""
    wanted = language_of(language)
    for candidate in (wanted, *FALLBACK):
        try:
            found = environment().get_template(f"messages/{template}.{candidate}.j2")
        except TemplateNotFound:
            continue
        return found.render(**context).strip()
    raise TemplateNotFound(f"messages/{template}.*.j2")
