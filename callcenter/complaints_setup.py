"""Complaints, surveys and reports in the running process: the rules the composition root
built (under app keys for the web handlers) and the deadline worker with its metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import complaints, reports
from handlers.complaints import ComplaintPolicy
from handlers.reports import Targets
from storage.models.base import utcnow

log = logging.getLogger(__name__)

POLICY = web.AppKey("complaint_policy", ComplaintPolicy)
TARGETS = web.AppKey("satisfaction_targets", Targets)


class ComplaintMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
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


async def run_deadline_check(
    sessions: async_sessionmaker[AsyncSession], targets: Targets, metrics: ComplaintMetrics
) -> int:
    """One pass: escalate breached deadlines, refresh the satisfaction gauges."""
    async with sessions() as session:
        escalated = await complaints.escalate_due(session)
        for item in escalated:
            metrics.escalations.labels(item.kind).inc()
        now = utcnow()
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


async def deadline_worker(
    sessions: async_sessionmaker[AsyncSession],
    targets: Targets,
    metrics: ComplaintMetrics,
    interval: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    while True:
        try:
            await run_deadline_check(sessions, targets, metrics)
        except Exception:  # the loop must outlive a database hiccup; the next pass retries
            log.exception("deadline check failed; retrying in %ss", interval)
        await sleep(interval)


def setup(app: web.Application, policy: ComplaintPolicy, targets: Targets) -> None:
    app[POLICY] = policy
    app[TARGETS] = targets
