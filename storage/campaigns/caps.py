"""The frequency cap by tier: how long a customer of each tier rests between two campaign
messages. Both sending paths read it from here: the ORM's conditional `UPDATE` (`dispatch`)
and PostgreSQL's one statement (`marks`), so the two cannot disagree about a tier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, literal

from storage.models.base import UTCDateTime


@dataclass(frozen=True)
class FrequencyCaps:
    """`default` for every tier not named in `by_tier` (tier, rest) pairs."""

    default: timedelta = timedelta(days=7)
    by_tier: tuple[tuple[str, timedelta], ...] = ()

    def for_tier(self, tier: str | None) -> timedelta:
        return dict(self.by_tier).get(tier or "", self.default)

    def latest_stamp(self, tier_column: Any, now: datetime) -> ColumnElement[Any]:
        """The latest `last_campaign_at` that lets a customer of `tier_column`'s tier be sent
        to now (now - their tier's cap), as one SQL expression."""
        default = literal(now - self.default, UTCDateTime())
        if not self.by_tier:
            return default
        return case(
            *((tier_column == tier, literal(now - cap, UTCDateTime())) for tier, cap in self.by_tier),
            else_=default,
        )

    def stamps(self, now: datetime) -> tuple[datetime, list[str], list[datetime]]:
        """The default latest stamp, and the tiers with theirs: PostgreSQL's statement takes
        them as parameters and picks the customer's own inside the statement."""
        return now - self.default, [t for t, _ in self.by_tier], [now - cap for _, cap in self.by_tier]
