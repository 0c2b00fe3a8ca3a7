"""The operator's settings every campaign obeys, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from handlers.defaults import TIMEZONE


@dataclass(frozen=True)
class Policy:
    """The operator's settings every campaign obeys."""

    frequency_cap: timedelta = timedelta(days=7)
    default_timezone: str = TIMEZONE
    expansion_batch: int = 10_000
    dispatch_batch: int = 100
    concurrency: int = 8
    lease: timedelta = timedelta(seconds=60)
