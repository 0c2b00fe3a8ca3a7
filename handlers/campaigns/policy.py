"""The operator's settings every campaign obeys, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from handlers.campaigns.care import CareCalendar, shipped_calendar
from handlers.defaults import TIMEZONE
from storage.campaigns.caps import FrequencyCaps


@dataclass(frozen=True)
class Policy:
    """The operator's settings every campaign obeys."""

    frequency_cap: timedelta = timedelta(days=7)  # a tier without a cap of its own
    frequency_cap_by_tier: tuple[tuple[str, timedelta], ...] = ()  # (tier, cap): VIPs rest longer
    default_timezone: str = TIMEZONE
    expansion_batch: int = 10_000
    dispatch_batch: int = 100
    concurrency: int = 8
    lease: timedelta = timedelta(seconds=60)
    # What care campaigns greet and say (CONTACTDESK_CARE_CALENDAR, or handlers/care.toml).
    care: CareCalendar = field(default_factory=shipped_calendar)

    @property
    def caps(self) -> FrequencyCaps:
        return FrequencyCaps(self.frequency_cap, tuple(sorted(self.frequency_cap_by_tier)))
