"""The campaigns page's form as the use case takes it: text fields read into a `CampaignSpec`
(and its audience), what was typed kept for a refused submission. Ranges and names are
checked by the use case itself (handlers/campaigns/definition.py), the same as for the API;
here only text that is not a number or a date at all is refused."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from typing import Any

from multidict import MultiDict

from callcenter.params import in_utc
from handlers.campaigns import CampaignSpec
from handlers.errors import InvalidInput
from handlers.inputs import whole_number

# Fields that may be given more than once (checkboxes, a multiple select).
LISTS = ("tiers", "holds", "lacks", "weekdays", "occasions")
WEEKDAYS = tuple(range(7))
# The fields a refusal can be shown next to (the rest are shown above the page).
FIELDS = (
    "name",
    "kind",
    "survey_kind",
    "offer_code",
    "channel",
    "messages",
    "starts_at",
    "ends_at",
    "hour_from",
    "weekdays",
    "rate_per_minute",
    "recurrence_days",
    "occasions",
    "tiers",
    "regions",
    "holds",
    "lacks",
    "last_contact_after",
    "last_contact_before",
    "complaint_resolved_within_days",
    "contacted_within_days",
    "csat_at_most",
    "sample_percent",
    "cap",
)
# What the use case calls a field the form names otherwise.
FORM_NAMES = {"sample_share": "sample_percent", "hour_to": "hour_from"}
# A blank form: what the supervisor sees before typing anything.
BLANK: dict[str, Any] = {
    "kind": "follow_up",
    "channel": "telegram",
    "survey_kind": "csat",
    "hour_from": "9",
    "hour_to": "20",
    "weekdays": [str(day) for day in WEEKDAYS],
    "occasions": ["birthday", "anniversary", "holiday"],
}


def typed(form: MultiDict[str]) -> dict[str, Any]:
    """What was typed, to fill the form again: one string a field, a list for the lists."""
    values: dict[str, Any] = {key: form.get(key, "") for key in form if key not in LISTS and key != "csrf"}
    for key in LISTS:
        values[key] = form.getall(key, [])
    return values


def _number(form: Mapping[str, str], name: str, *, low: int = 0) -> int | None:
    raw = str(form.get(name) or "").strip()
    if not raw:
        return None
    value = whole_number(raw, low=low, high=10**9)
    if value is None:
        raise InvalidInput("write a whole number here", field=name)
    return value


def _day(form: Mapping[str, str], name: str) -> str | None:
    raw = str(form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError as error:
        raise InvalidInput("write a date like 2026-01-31", field=name) from error


def _moment(form: Mapping[str, str], name: str, zone: tzinfo) -> datetime | None:
    """A datetime-local field has no offset: it means the operator's own clock."""
    raw = str(form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
        return in_utc(value if value.tzinfo else value.replace(tzinfo=zone))
    except ValueError as error:
        raise InvalidInput("write a date and time like 2026-01-31 09:00", field=name) from error


def audience(form: MultiDict[str]) -> dict[str, Any]:
    """The audience filters as the API's JSON writes them; empty fields are no filter."""
    found: dict[str, Any] = {}
    for key in ("tiers", "holds", "lacks", "occasions"):
        if key == "occasions" and form.get("kind") != "care":
            continue  # the care campaign's boxes, hidden for the other kinds
        if names := [name for name in form.getall(key, []) if name]:
            found[key] = names
    if regions := [part.strip() for part in str(form.get("regions") or "").split(",") if part.strip()]:
        found["regions"] = regions
    for key in ("last_contact_before", "last_contact_after"):
        if (day := _day(form, key)) is not None:
            found[key] = day
    for key in ("complaint_resolved_within_days", "contacted_within_days", "csat_at_most", "cap"):
        if (number := _number(form, key)) is not None:
            found[key] = number
    if (percent := _number(form, "sample_percent")) is not None:
        found["sample_share"] = percent / 100
    return found


def spec(form: MultiDict[str], zone: tzinfo) -> CampaignSpec:
    kind = str(form.get("kind", ""))
    messages = {lang: str(form.get(f"message_{lang}", "")) for lang in ("zh", "en")}
    weekdays = [_number({"weekdays": day}, "weekdays") for day in form.getall("weekdays", [])]
    hour_from, hour_to = _number(form, "hour_from"), _number(form, "hour_to")
    # The survey select offers CSAT, NPS and each questionnaire as `quest:<id>`.
    survey, _, questionnaire = str(form.get("survey_kind") or "csat").partition(":")
    return CampaignSpec(
        name=str(form.get("name", "")),
        kind=kind,
        channel="telegram" if kind == "care" else str(form.get("channel", "telegram")),
        # A care campaign says the care calendar's greetings: its form hides the texts.
        messages={} if kind == "care" else {lang: text for lang, text in messages.items() if text.strip()},
        survey_kind=survey if kind == "satisfaction" else None,
        questionnaire_id=whole_number(questionnaire, low=1) if kind == "satisfaction" else None,
        offer_code=str(form.get("offer_code") or "") or None,
        audience=audience(form),
        starts_at=_moment(form, "starts_at", zone),
        ends_at=None if kind == "care" else _moment(form, "ends_at", zone),  # each run ends with its day
        hour_from=9 if hour_from is None else hour_from,
        hour_to=20 if hour_to is None else hour_to,
        weekdays=tuple(day for day in weekdays if day is not None),
        rate_per_minute=_number(form, "rate_per_minute"),
        recurrence_days=_number(form, "recurrence_days"),
    )
