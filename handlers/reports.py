"""Satisfaction reports and the targets that raise alerts when scores drop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import InvalidInput
from storage import reports as repo
from storage.reports import GROUPS, ReportRow

__all__ = ["GROUPS", "ReportRow", "TargetBreach", "Targets", "satisfaction", "target_breaches"]


@dataclass(frozen=True)
class Targets:
    csat_min: float = 4.0
    nps_min: float = 30.0
    window: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class TargetBreach:
    measure: str
    value: float
    target: float


async def satisfaction(
    session: AsyncSession, start: datetime, end: datetime, group_by: str | None = None
) -> list[ReportRow]:
    if group_by is not None and group_by not in GROUPS:
        raise InvalidInput("unknown grouping", field="group_by", allowed=list(GROUPS))
    if end <= start:
        raise InvalidInput("'to' must be after 'from'", field="to")
    return await repo.satisfaction(session, start, end, group_by)


async def target_breaches(session: AsyncSession, now: datetime, targets: Targets) -> list[TargetBreach]:
    """Measures over the trailing window that are below target (no answers, no alert)."""
    rows = await repo.satisfaction(session, now - targets.window, now)
    found: list[TargetBreach] = []
    if not rows:
        return found
    overall = rows[0]
    if overall.csat_average is not None and overall.csat_average < targets.csat_min:
        found.append(TargetBreach("csat", overall.csat_average, targets.csat_min))
    if overall.nps is not None and overall.nps < targets.nps_min:
        found.append(TargetBreach("nps", overall.nps, targets.nps_min))
    return found
