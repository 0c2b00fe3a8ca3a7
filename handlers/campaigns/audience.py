"""A campaign's audience as a supervisor writes it (JSON) and as storage queries it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from handlers.errors import InvalidInput
from storage.campaign_audience import Audience


def _strings(raw: Any, name: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw):
        raise InvalidInput(f"{name} is a list of names", field=f"audience.{name}")
    return tuple(raw)


def _date(raw: Any, name: str) -> date | None:
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError as error:
        raise InvalidInput(f"{name} is a date like 2026-01-31", field=f"audience.{name}") from error


def _int(raw: Any, name: str, low: int, high: int) -> int | None:
    if raw is None:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool) or not low <= raw <= high:
        raise InvalidInput(f"{name} is a whole number from {low} to {high}", field=f"audience.{name}")
    return raw


AUDIENCE_KEYS = (
    "tiers",
    "regions",
    "holds",
    "lacks",
    "last_contact_before",
    "last_contact_after",
    "complaint_resolved_within_days",
    "csat_at_most",
    "sample_share",
    "sample_seed",
    "cap",
    "occasions",
    "contacted_within_days",
)
# What a care campaign may greet (handlers/campaigns/care.py).
OCCASIONS = ("birthday", "anniversary", "holiday")


def parse_audience(raw: dict[str, Any] | None) -> Audience:
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(AUDIENCE_KEYS))
    if unknown:
        raise InvalidInput(f"unknown audience filter: {', '.join(unknown)}", allowed=list(AUDIENCE_KEYS))
    share = raw.get("sample_share")
    if share is not None and (
        not isinstance(share, int | float) or isinstance(share, bool) or not 0 < share <= 1
    ):
        raise InvalidInput("sample_share is a fraction above 0, at most 1", field="audience.sample_share")
    return Audience(
        tiers=_strings(raw.get("tiers"), "tiers"),
        regions=_strings(raw.get("regions"), "regions"),
        holds=_strings(raw.get("holds"), "holds"),
        lacks=_strings(raw.get("lacks"), "lacks"),
        last_contact_before=_date(raw.get("last_contact_before"), "last_contact_before"),
        last_contact_after=_date(raw.get("last_contact_after"), "last_contact_after"),
        complaint_resolved_within_days=_int(
            raw.get("complaint_resolved_within_days"), "complaint_resolved_within_days", 1, 3650
        ),
        csat_at_most=_int(raw.get("csat_at_most"), "csat_at_most", 1, 5),
        sample_share=None if share is None else float(share),
        sample_seed=_int(raw.get("sample_seed"), "sample_seed", 0, 2**31) or 0,
        cap=_int(raw.get("cap"), "cap", 1, 100_000_000),
        occasions=_occasions(raw.get("occasions")),
        contacted_within_days=_int(raw.get("contacted_within_days"), "contacted_within_days", 1, 3650),
    )


def _occasions(raw: Any) -> tuple[str, ...]:
    found = _strings(raw, "occasions")
    if any(name not in OCCASIONS for name in found):
        raise InvalidInput(
            "occasions are birthday, anniversary and holiday",
            field="audience.occasions",
            allowed=list(OCCASIONS),
        )
    return tuple(sorted(set(found), key=OCCASIONS.index))


def audience_json(audience: Audience) -> dict[str, Any]:
    """The stored form: only the filters that are set, dates as ISO strings."""
    stored: dict[str, Any] = {}
    for key, value in asdict(audience).items():
        if value in (None, (), []) or (key == "sample_seed" and audience.sample_share is None):
            continue
        stored[key] = (
            value.isoformat()
            if isinstance(value, date)
            else list(value)
            if isinstance(value, tuple)
            else value
        )
    return stored
