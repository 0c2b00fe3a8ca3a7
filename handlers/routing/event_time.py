"""When a call event happened, as the telephony platform says: a PBX that retries a webhook
a minute late must not make the caller's wait a minute longer. Accepted within a window
around our clock, so a wrong clock or a replayed event cannot rewrite yesterday's figures."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from handlers.errors import InvalidInput

AHEAD = timedelta(seconds=5)  # clocks drift; more than this ahead is a wrong clock
BEHIND = timedelta(hours=24)  # a retry queue holds events for hours at most
FIELD = "timestamp"
_FORMAT = "an ISO 8601 date-time with its offset (2026-11-26T09:30:05+08:00) or epoch seconds"


def _parse(raw: object) -> datetime:
    if isinstance(raw, bool):  # a JSON true is an int to Python, not a time
        raise ValueError
    if isinstance(raw, int | float):
        seconds = float(raw)
    elif isinstance(raw, str) and raw.strip().replace(".", "", 1).isdigit():
        seconds = float(raw.strip())
    elif isinstance(raw, str):
        moment = datetime.fromisoformat(raw.strip())
        if moment.tzinfo is None:
            raise ValueError
        return moment.astimezone(UTC)
    else:
        raise ValueError
    if not math.isfinite(seconds):
        raise ValueError
    return datetime.fromtimestamp(seconds, UTC)


def event_time(raw: object, now: datetime) -> datetime:
    """The event's moment in UTC, `now` when not given; InvalidInput (a 400) when it is not a
    time, or more than 5 s ahead of `now` or more than 24 h behind."""
    if raw is None or raw == "":
        return now
    try:
        moment = _parse(raw)
    except (ValueError, OverflowError, OSError) as error:
        raise InvalidInput(f"{FIELD} is {_FORMAT}", field=FIELD) from error
    if moment > now + AHEAD:
        raise InvalidInput(f"{FIELD} is more than 5 seconds ahead of our clock", field=FIELD)
    if moment < now - BEHIND:
        raise InvalidInput(f"{FIELD} is more than 24 hours old", field=FIELD)
    return moment
