"""Wiring for complaints, surveys and reports: policy from settings, the deadline worker."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from aiohttp import web
from prometheus_client import Counter, Gauge

from callcenter.keys import METRICS, SESSIONS, SETTINGS, WORKERS
from callcenter.settings import Settings
from handlers import complaints, reports
from handlers.calendar import WorkCalendar
from handlers.complaints import ComplaintPolicy
from handlers.reports import Targets
from storage.models.base import utcnow

log = logging.getLogger(__name__)

POLICY = web.AppKey("complaint_policy", ComplaintPolicy)
TARGETS = web.AppKey("satisfaction_targets", Targets)


class ComplaintMetrics:
    def __init__(self, app: web.Application) -> None:
        registry = app[METRICS].registry
        self.escalations = Counter(
            "contactdesk_complaint_escalations",
            "Complaint deadlines breached and escalated",
            ["deadline"],
            registry=registry,
        )
        self.below_target = Gauge(
            "contactdesk_satisfaction_below_target",
            "1 while a measure is below its target",
            ["measure"],
            registry=registry,
        )
        self.score = Gauge(
            "contactdesk_satisfaction_trailing",
            "CSAT average and NPS over the target window",
            ["measure"],
            registry=registry,
        )


COMPLAINT_METRICS = web.AppKey("complaint_metrics", ComplaintMetrics)


def policy_from(settings: Settings) -> ComplaintPolicy:
    calendar = WorkCalendar.from_settings(settings.timezone, settings.holidays, settings.extra_workdays)
    return ComplaintPolicy(categories=tuple(settings.complaint_categories), calendar=calendar)


async def run_deadline_check(app: web.Application) -> int:
    """One pass: escalate breached deadlines, refresh the satisfaction gauges."""
    metrics = app[COMPLAINT_METRICS]
    async with app[SESSIONS]() as session:
        escalated = await complaints.escalate_due(session)
        for item in escalated:
            metrics.escalations.labels(item.kind).inc()
        now = utcnow()
        targets = app[TARGETS]
        breached = {b.measure: b for b in await reports.target_breaches(session, now, targets)}
        overall = await reports.satisfaction(session, now - targets.window, now)
    for measure in ("csat", "nps"):
        metrics.below_target.labels(measure).set(1 if measure in breached else 0)
    if overall:
        if overall[0].csat_average is not None:
            metrics.score.labels("csat").set(overall[0].csat_average)
        if overall[0].nps is not None:
            metrics.score.labels("nps").set(overall[0].nps)
    return len(escalated)


async def deadline_worker(app: web.Application) -> None:
    interval = app[SETTINGS].timer_interval_seconds
    while True:
        try:
            await run_deadline_check(app)
        except Exception:  # the loop must outlive a database hiccup; the next pass retries
            log.exception("deadline check failed; retrying in %ss", interval)
        await asyncio.sleep(interval)


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    app[POLICY] = policy_from(settings)
    app[TARGETS] = Targets(
        csat_min=settings.csat_target,
        nps_min=settings.nps_target,
        window=timedelta(days=settings.target_window_days),
    )
    app[COMPLAINT_METRICS] = ComplaintMetrics(app)
    app[WORKERS].append(deadline_worker)
