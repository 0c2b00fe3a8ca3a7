"""The tier review's rules as plain values, read from the settings once (callcenter/bootstrap.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from handlers.customers import TierLimits
from storage.tier_review import Weights


@dataclass(frozen=True)
class TierPolicy:
    limits: TierLimits  # the quotas: VIP at most 15%, preferred at most 30% of the customers graded
    weights: Weights
    every_months: int  # the worker reviews once in each such period of the calendar (0: only by command)
    downgrade_days: int  # an approved downgrade takes effect this many days after approval …
    notice_days: int  # … and the customer is told this many days before it does
    notice_hour: int  # at this hour of their own day
    timezone: str  # the operator's, for a customer who has none, and for the review's months
    timeout_seconds: float  # how long the review's statements may run (PostgreSQL)
    interval_seconds: float  # how often the worker looks for due reviews and downgrades

    def zone(self, name: str | None) -> ZoneInfo:
        try:
            return ZoneInfo(name or self.timezone)
        except (ValueError, KeyError):  # a stored zone we do not know: the operator's
            return ZoneInfo(self.timezone)

    def period(self, moment: datetime) -> int:
        """Which period of `every_months` months `moment` falls in (Jan–Jun, Jul–Dec for six)."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        return (local.year * 12 + local.month - 1) // max(self.every_months, 1)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def downgrade_dates(now: datetime, zone: ZoneInfo, policy: TierPolicy) -> tuple[date, datetime, datetime]:
    """The day an approved downgrade takes effect (in the customer's zone), the moment it
    does (their midnight) and the moment they are told (the notice hour, `notice_days`
    before; at once if that has passed)."""
    today = now.astimezone(zone).date()
    effective_day = today + timedelta(days=policy.downgrade_days)
    effective_at = local_midnight(effective_day, zone)
    notice_day = effective_day - timedelta(days=policy.notice_days)
    notice_at = datetime.combine(notice_day, time(policy.notice_hour), tzinfo=zone)
    return effective_day, effective_at, max(notice_at, now)
