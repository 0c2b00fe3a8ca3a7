"""Report queries: survey scores and complaint handling over a period, grouped in SQL."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, case, cast, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Complaint, Customer, User
from storage.models.surveys import ComplaintTimer, Survey

GROUPS = ("tier", "agent", "category", "channel", "campaign")


@dataclass(frozen=True)
class ReportRow:
    group: str
    surveys_sent: int
    responses: int
    response_rate: float | None
    csat_responses: int
    csat_average: float | None
    csat_satisfied_share: float | None
    nps_responses: int
    nps: float | None
    complaints: int
    reopened: int
    reopen_rate: float | None
    median_hours_to_resolve: float | None
    deadline_breaches: int


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _survey_key(group_by: str | None) -> Any:
    if group_by == "tier":
        return Customer.tier
    if group_by == "agent":
        return func.coalesce(User.login, literal("-"))
    if group_by == "category":
        return func.coalesce(Complaint.category, literal("-"))
    if group_by == "channel":
        return Survey.channel
    if group_by == "campaign":
        return func.coalesce(cast(Survey.campaign_id, Integer), literal(0))
    return literal("all")


def _complaint_key(group_by: str | None) -> Any:
    if group_by == "tier":
        return Customer.tier
    if group_by == "agent":
        return func.coalesce(User.login, literal("-"))
    if group_by == "category":
        return Complaint.category
    if group_by == "channel":
        return Complaint.channel
    if group_by == "campaign":
        return literal(0)
    return literal("all")


def _survey_figures() -> list[Any]:
    answered = Survey.answered_at.is_not(None)
    csat = (Survey.kind == "csat") & answered
    nps = (Survey.kind == "nps") & answered
    return [
        func.count().label("sent"),
        func.sum(case((answered, 1), else_=0)).label("responses"),
        func.sum(case((csat, 1), else_=0)).label("csat_n"),
        func.sum(case((csat, Survey.score), else_=0)).label("csat_sum"),
        func.sum(case((csat & (Survey.score >= 4), 1), else_=0)).label("csat_ok"),
        func.sum(case((nps, 1), else_=0)).label("nps_n"),
        func.sum(case((nps & (Survey.score >= 9), 1), else_=0)).label("promoters"),
        func.sum(case((nps & (Survey.score <= 6), 1), else_=0)).label("detractors"),
    ]


def _csat_average(figures: Any) -> float | None:
    answers = int(figures.csat_n or 0)
    return round(int(figures.csat_sum or 0) / answers, 2) if answers else None


def _nps(figures: Any) -> float | None:
    answers = int(figures.nps_n or 0)
    net = int(figures.promoters or 0) - int(figures.detractors or 0)
    return round(100 * net / answers, 1) if answers else None


@dataclass(frozen=True)
class Scores:
    csat_average: float | None
    nps: float | None


async def scores(session: AsyncSession, start: datetime, end: datetime) -> Scores:
    """The CSAT average and NPS of the surveys sent in [start, end) and nothing else: the weekly
    trend and the targets need only these, and `satisfaction` also reads every complaint lodged
    in the period (at 100,000 complaints, a twelve-week trend took seconds)."""
    query = (
        select(*_survey_figures())
        .select_from(Survey)
        .where(Survey.created_at >= start, Survey.created_at < end)
    )
    figures = (await session.execute(query)).one()
    return Scores(_csat_average(figures), _nps(figures))


async def weekly_scores(session: AsyncSession, now: datetime, weeks: int) -> list[tuple[datetime, Scores]]:
    """Each of the last `weeks` weeks' start and scores, oldest first, in one round trip: per
    week, its answers counted by kind and score over its range of the covering index, the weeks
    joined by UNION ALL. Grouping by a CASE naming each survey's week sorted all 50,000 surveys
    (the planner cannot know such a CASE has twelve values) and took 50 ms on a quiet machine."""
    starts = [now - timedelta(weeks=back) for back in range(weeks, 0, -1)]
    ends = [*starts[1:], now]
    query = union_all(
        *(
            select(literal(n).label("week"), Survey.kind, Survey.score, func.count().label("n"))
            .where(Survey.created_at >= start, Survey.created_at < end, Survey.answered_at.is_not(None))
            .group_by(Survey.kind, Survey.score)
            for n, (start, end) in enumerate(zip(starts, ends, strict=True))
        )
    )
    answers: dict[int, list[tuple[str, int | None, int]]] = defaultdict(list)
    for row in await session.execute(query):
        answers[int(row.week)].append((str(row.kind), row.score, int(row.n)))
    return [(start, _scores_of(answers[n])) for n, start in enumerate(starts)]


def _scores_of(answers: list[tuple[str, int | None, int]]) -> Scores:
    """The CSAT average and NPS of (kind, score, how many) answer counts, as `_survey_figures`
    would have them (an answer without a score counts, and adds nothing)."""
    csat = [(score or 0, n) for kind, score, n in answers if kind == "csat"]
    nps = [(score, n) for kind, score, n in answers if kind == "nps"]
    net = sum(n for s, n in nps if s is not None and s >= 9) - sum(
        n for s, n in nps if s is not None and s <= 6
    )
    csat_n, nps_n = sum(n for _, n in csat), sum(n for _, n in nps)
    return Scores(
        round(sum(s * n for s, n in csat) / csat_n, 2) if csat_n else None,
        round(100 * net / nps_n, 1) if nps_n else None,
    )


async def satisfaction(
    session: AsyncSession, start: datetime, end: datetime, group_by: str | None = None
) -> list[ReportRow]:
    key = _survey_key(group_by).label("key")
    survey_query = (
        select(key, *_survey_figures())
        .select_from(Survey)
        .join(Customer, Customer.id == Survey.customer_id)
        .outerjoin(User, User.id == Survey.agent_id)
        .outerjoin(Complaint, Complaint.id == Survey.complaint_id)
        .where(Survey.created_at >= start, Survey.created_at < end)
        .group_by(key)
    )
    surveys = {str(r.key): r for r in (await session.execute(survey_query)).all()}

    ckey = _complaint_key(group_by).label("key")
    complaint_query = (
        select(ckey, Complaint.reopen_count, Complaint.created_at, Complaint.resolved_at, Complaint.id)
        .select_from(Complaint)
        .join(Customer, Customer.id == Complaint.customer_id)
        .outerjoin(User, User.id == Complaint.created_by_id)
        .where(Complaint.created_at >= start, Complaint.created_at < end)
    )
    complaints: dict[str, list[Any]] = defaultdict(list)
    for row in (await session.execute(complaint_query)).all():
        complaints[str(row.key)].append(row)

    breach_query = (
        select(ckey, func.count())
        .select_from(ComplaintTimer)
        .join(Complaint, Complaint.id == ComplaintTimer.complaint_id)
        .join(Customer, Customer.id == Complaint.customer_id)
        .outerjoin(User, User.id == Complaint.created_by_id)
        .where(
            ComplaintTimer.escalated.is_(True), ComplaintTimer.done_at >= start, ComplaintTimer.done_at < end
        )
        .group_by(ckey)
    )
    breaches = {str(k): int(n) for k, n in (await session.execute(breach_query)).all()}

    rows: list[ReportRow] = []
    for group in sorted(set(surveys) | set(complaints) | set(breaches)):
        s = surveys.get(group)
        sent = int(s.sent) if s else 0
        responses = int(s.responses or 0) if s else 0
        csat_n = int(s.csat_n or 0) if s else 0
        nps_n = int(s.nps_n or 0) if s else 0
        lodged = complaints.get(group, [])
        reopened = sum(1 for c in lodged if c.reopen_count > 0)
        hours = [
            (c.resolved_at - c.created_at).total_seconds() / 3600 for c in lodged if c.resolved_at is not None
        ]
        rows.append(
            ReportRow(
                group=group,
                surveys_sent=sent,
                responses=responses,
                response_rate=_ratio(responses, sent),
                csat_responses=csat_n,
                csat_average=_csat_average(s) if s else None,
                csat_satisfied_share=_ratio(int(s.csat_ok or 0), csat_n) if s else None,
                nps_responses=nps_n,
                nps=_nps(s) if s else None,
                complaints=len(lodged),
                reopened=reopened,
                reopen_rate=_ratio(reopened, len(lodged)),
                median_hours_to_resolve=round(statistics.median(hours), 2) if hours else None,
                deadline_breaches=breaches.get(group, 0),
            )
        )
    return rows
