"""jinja2 templates, shipped as package data: customer messages (zh, en), TwiML, cards, pages.

Customer-facing text is never built in code: it is rendered from a file here.
Messages live in `messages/<name>.<language>.j2`; a language we have no text for
falls back to Chinese, then English.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    Environment,
    PackageLoader,
    StrictUndefined,
    TemplateNotFound,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from handlers.defaults import TIMEZONE
from templates.i18n import translations
from templates.words import WORDS, word_for

LANGUAGES = ("zh", "en")
FALLBACK = ("zh", "en")


@cache
def environment(language: str = "en") -> Environment:
    """The templates with the console's translations for `language` installed (English, the
    source text, has none). Autoescape for .html/.xml (cards, pages, TwiML); message texts
    are plain."""
    env = Environment(
        loader=PackageLoader("templates", ""),
        autoescape=select_autoescape(["html", "xml", "html.j2", "xml.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        extensions=["jinja2.ext.i18n"],
        # The templates ship with the code and change only with it: without this every
        # render stats its file (3 % of a Twilio voice request's CPU, bench/routing.py).
        auto_reload=False,
    )
    catalogue = translations(language)
    env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    env.globals["language"] = language
    env.filters["word"] = lambda code, kind: catalogue.gettext(word_for(kind, code))
    # A kind's words as a mapping, for scripts that label codes arriving over a socket.
    env.globals["words"] = lambda kind: {
        code: catalogue.gettext(label) for code, label in WORDS[kind].items()
    }
    env.filters["when"] = _when
    env.filters["day"] = _day
    env.filters["duration"] = duration
    env.filters["percent"] = percent
    return env


@cache
def _zone(name: str) -> tzinfo:
    return ZoneInfo(name)


def _local(context: Context, moment: datetime) -> datetime:
    """A stored time (UTC; SQLite hands it back naive) in the operator's zone."""
    zone = _zone(context.get("timezone") or TIMEZONE)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(zone)


@pass_context
def _when(context: Context, moment: datetime | None) -> str:
    return "" if moment is None else _local(context, moment).strftime("%Y-%m-%d %H:%M")


@pass_context
def _day(context: Context, moment: datetime | date | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = _local(context, moment).date()
    return moment.isoformat()


def duration(seconds: float | None) -> str:
    """A span as people read a clock: 0:45, 12:05, 1:02:09 (none: a dash)."""
    if seconds is None:
        return "—"
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent(share: float | None) -> str:
    """A share (0..1) as a whole percentage (none: a dash)."""
    return "—" if share is None else f"{round(share * 100)}%"


def render(template_name: str, /, *, language: str = "en", **context: Any) -> str:
    """A template rendered in one of the console's languages (`language`); customer
    messages choose theirs with `message`."""
    return environment(language).get_template(template_name).render(**context)


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
