"""Satisfaction reports and the targets that raise alerts when scores drop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import InvalidInput
from storage import complaint_ages, inbox_figures
from storage import complaints as complaints_repo
from storage import reports as repo
from storage.complaints import AlertView
from storage.inbox_figures import ConversationRow
from storage.reports import GROUPS, ReportRow

# How the conversations report groups: by the (last) agent who held each, or by queue.
CONVERSATION_GROUPS = ("agent", "queue")

__all__ = [
    "CONVERSATION_GROUPS",
    "GROUPS",
    "ConversationRow",
    "Overview",
    "ReportRow",
    "TargetBreach",
    "Targets",
    "WeekScores",
    "conversations",
    "open_alerts",
    "overview",
    "satisfaction",
    "target_breaches",
]


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


@dataclass(frozen=True)
class WeekScores:
    start: datetime
    csat: float | None
    nps: float | None


@dataclass(frozen=True)
class Overview:
    """The supervisor's satisfaction page: weekly scores, open complaints by age, alerts."""

    weeks: list[WeekScores]
    ages: dict[str, tuple[int, int]]  # age bucket → (within deadline, overdue)
    alerts: list[AlertView]  # the latest open alerts
    open_alert_count: int  # all open alerts (the list may show only the latest)
    breaches: list[TargetBreach]


async def satisfaction(
    session: AsyncSession, start: datetime, end: datetime, group_by: str | None = None
) -> list[ReportRow]:
    if group_by is not None and group_by not in GROUPS:
        raise InvalidInput("unknown grouping", field="group_by", allowed=list(GROUPS))
    if end <= start:
        raise InvalidInput("'to' must be after 'from'", field="to")
    return await repo.satisfaction(session, start, end, group_by)


async def conversations(
    session: AsyncSession, start: datetime, end: datetime, group_by: str
) -> list[ConversationRow]:
    """Chats opened in the period by agent or queue: first response time (opening to the
    first reply), handle time (taken to closed) and the CSAT their close asked for."""
    if group_by not in CONVERSATION_GROUPS:
        raise InvalidInput("unknown grouping", field="group_by", allowed=list(CONVERSATION_GROUPS))
    if end <= start:
        raise InvalidInput("'to' must be after 'from'", field="to")
    return await inbox_figures.conversation_report(session, start, end, group_by)


async def target_breaches(session: AsyncSession, now: datetime, targets: Targets) -> list[TargetBreach]:
    """Measures over the trailing window that are below target (no answers, no alert)."""
    overall = await repo.scores(session, now - targets.window, now)
    found: list[TargetBreach] = []
    if overall.csat_average is not None and overall.csat_average < targets.csat_min:
        found.append(TargetBreach("csat", overall.csat_average, targets.csat_min))
    if overall.nps is not None and overall.nps < targets.nps_min:
        found.append(TargetBreach("nps", overall.nps, targets.nps_min))
    return found


async def open_alerts(session: AsyncSession) -> list[AlertView]:
    return await complaints_repo.open_alerts(session)


async def overview(session: AsyncSession, now: datetime, targets: Targets, weeks: int) -> Overview:
    """The last `weeks` weeks' scores, oldest first, and what is open now."""
    by_week = await repo.weekly_scores(session, now, weeks)
    return Overview(
        weeks=[WeekScores(start, found.csat_average, found.nps) for start, found in by_week],
        ages=await complaint_ages.open_by_age(session, now),
        alerts=await complaints_repo.open_alerts(session),
        open_alert_count=await complaints_repo.count_open_alerts(session),
        breaches=await target_breaches(session, now, targets),
    )
