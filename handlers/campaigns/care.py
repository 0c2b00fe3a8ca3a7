"""Care contacts (issue 18): the care calendar, and the day a care run greets.

A care campaign runs daily: each run is a campaign of its own (the next is scheduled when
one starts, like any recurring campaign) and greets, on its day D, the customers of its
audience whose birthday or customer anniversary is on D, or everyone when D is a holiday of
the calendar. D is the day in each customer's own time zone: a target is sent no earlier
than D's midnight and no later than the next in that zone (`campaign_targets.not_after`).
The greetings' texts are the operator's, in the calendar file (`handlers/care.toml`, or
CONTACTDESK_CARE_CALENDAR); each run keeps a copy of the texts of its day in its messages
(`birthday.zh`, `holiday:national-day.en`, …), so what it said stays readable."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import TemplateError

from handlers import campaign_templates
from handlers.campaigns.audience import OCCASIONS
from storage.campaigns.care import CareDay
from templates import LANGUAGES

HOLIDAY = "holiday:"  # an occasion key: holiday:<the holiday's key>


class CalendarError(ValueError):
    """The care calendar file cannot be used; the message says where."""


@dataclass(frozen=True)
class Holiday:
    key: str
    names: dict[str, str]
    dates: tuple[str, ...]  # "MM-DD" every year, or "YYYY-MM-DD" that year only
    texts: dict[str, str]

    def falls_on(self, day: date) -> bool:
        return day.strftime("%m-%d") in self.dates or day.isoformat() in self.dates


@dataclass(frozen=True)
class CareCalendar:
    birthday: dict[str, str] = field(default_factory=dict)
    anniversary: dict[str, str] = field(default_factory=dict)
    holidays: tuple[Holiday, ...] = ()

    def holiday_on(self, day: date) -> Holiday | None:
        return next((h for h in self.holidays if h.falls_on(day)), None)

    def day(self, day: date, occasions: tuple[str, ...], default_timezone: str) -> CareDay:
        """What a run on `day` greets, for a campaign greeting `occasions` (all when empty)."""
        wanted = occasions or OCCASIONS
        holiday = self.holiday_on(day) if "holiday" in wanted else None
        return CareDay(
            day=day,
            birthday="birthday" in wanted and bool(self.birthday),
            anniversary="anniversary" in wanted and bool(self.anniversary),
            holiday=None if holiday is None else HOLIDAY + holiday.key,
            default_timezone=default_timezone,
        )

    def texts(self, care: CareDay) -> dict[str, str]:
        """The day's texts as a run keeps them: `<occasion>.<language>`."""
        found: dict[str, dict[str, str]] = {}
        if care.birthday:
            found["birthday"] = self.birthday
        if care.anniversary:
            found["anniversary"] = self.anniversary
        for holiday in self.holidays:
            if care.holiday == HOLIDAY + holiday.key:
                found[care.holiday] = holiday.texts
        return {
            f"{occasion}.{lang}": text for occasion, texts in found.items() for lang, text in texts.items()
        }


def occasion_texts(messages: dict[str, str], occasion: str) -> dict[str, str]:
    """A run's texts for one occasion, by language."""
    return {
        key.rpartition(".")[2]: text for key, text in messages.items() if key.rpartition(".")[0] == occasion
    }


def run_day(starts_at: datetime, timezone: str) -> date:
    """The day a run greets: its start's date on the operator's clock."""
    return starts_at.astimezone(ZoneInfo(timezone)).date()


def midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time.min, ZoneInfo(timezone)).astimezone(UTC)


def run_end(day: date) -> datetime:
    """After the last time zone's day D has ended (UTC-12 ends it at D+1 12:00 UTC)."""
    return datetime.combine(day + timedelta(days=1), time(12, 0), UTC)


def _texts(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise CalendarError(f'{where}: give the text per language, zh = "…", en = "…"')
    texts = {lang: text for lang, text in raw.items() if lang in LANGUAGES}
    for lang, text in texts.items():
        if not isinstance(text, str) or not text.strip():
            raise CalendarError(f"{where}.{lang}: an empty text")
        try:
            campaign_templates.render(text, {"name": "Sample Customer", "tier": "regular", "offer": ""})
        except TemplateError as error:
            raise CalendarError(f"{where}.{lang}: {error}") from error
    return texts


def _dates(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise CalendarError(f'{where}.dates: a list of "MM-DD" or "YYYY-MM-DD"')
    for value in raw:
        try:
            date.fromisoformat(value if len(str(value)) == 10 else f"2000-{value}")
        except (TypeError, ValueError) as error:
            raise CalendarError(f"{where}.dates: {value!r} is not MM-DD or YYYY-MM-DD") from error
    return tuple(str(value) for value in raw)


def parse_calendar(text: str, source: str) -> CareCalendar:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CalendarError(f"{source}: {error}") from error
    holidays = []
    for n, entry in enumerate(raw.get("holiday", []), start=1):
        where = f"{source}: holiday {n}"
        key = str(entry.get("key", ""))
        if not key or "." in key:
            raise CalendarError(f"{where}: a key without dots, like national-day")
        names = entry.get("name", {})
        holidays.append(
            Holiday(
                key=key,
                names={lang: str(names.get(lang, key)) for lang in LANGUAGES},
                dates=_dates(entry.get("dates"), where),
                texts=_texts({k: v for k, v in entry.items() if k in LANGUAGES}, where),
            )
        )
    return CareCalendar(
        birthday=_texts(raw.get("birthday", {}), f"{source}: birthday"),
        anniversary=_texts(raw.get("anniversary", {}), f"{source}: anniversary"),
        holidays=tuple(holidays),
    )


@functools.cache
def shipped_calendar() -> CareCalendar:
    """handlers/care.toml, read once per process."""
    text = resources.files("handlers").joinpath("care.toml").read_text(encoding="utf-8")
    return parse_calendar(text, "handlers/care.toml")


def load_calendar(path: str | None) -> CareCalendar:
    """The operator's own calendar file, or the shipped one."""
    if path is None:
        return shipped_calendar()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise CalendarError(f"{path}: {error}") from error
    return parse_calendar(text, path)
