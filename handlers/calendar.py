"""Working days: weekends plus listed holidays, in the operator's time zone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.defaults import TIMEZONE


@dataclass(frozen=True)
class WorkCalendar:
    timezone: str = TIMEZONE
    holidays: frozenset[date] = field(default_factory=frozenset)
    weekend: frozenset[int] = frozenset({5, 6})  # Saturday, Sunday
    # Weekend days the operator works to make up for a holiday (调休).
    workdays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def from_settings(
        cls, timezone: str, holidays: Iterable[date], workdays: Iterable[date] = ()
    ) -> WorkCalendar:
        return cls(timezone=timezone, holidays=frozenset(holidays), workdays=frozenset(workdays))

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same local time of day, `days` working days later (counted from the next day)."""
        local = start.astimezone(ZoneInfo(self.timezone))
        remaining = days
        current = local
        while remaining > 0:
            current = current + timedelta(days=1)
            if self.is_working_day(current.date()):
                remaining -= 1
        # Rebuild from the wall-clock time so a DST change does not shift the hour.
        wall = datetime.combine(current.date(), local.timetz().replace(tzinfo=None))
        return wall.replace(tzinfo=ZoneInfo(self.timezone)).astimezone(UTC)


@dataclass(frozen=True)
class DeadlineRules:
    """The operator's rules: acknowledge within 1 working day; resolve a standard complaint
    within 15 calendar days and an urgent one within 3 working days."""

    acknowledge_working_days: int = 1
    standard_calendar_days: int = 15
    urgent_working_days: int = 3

    def acknowledge_by(self, calendar: WorkCalendar, received: datetime) -> datetime:
        return calendar.add_working_days(received, self.acknowledge_working_days)

    def resolve_by(self, calendar: WorkCalendar, received: datetime, severity: str) -> datetime:
        if severity == "urgent":
            return calendar.add_working_days(received, self.urgent_working_days)
        return received + timedelta(days=self.standard_calendar_days)
