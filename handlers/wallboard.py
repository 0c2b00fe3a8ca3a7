"""The supervisor's wallboard: today's live figures (handlers/live_report.py) and what waits
for a supervisor — escalated complaints and open alerts, counted, the oldest few of each
escalation kind and the newest alerts shown.

No customer's name is shown here (tickets only), so reading the board is not an audited
read of anyone's record; the escalations page and the complaint's page are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import live_report
from handlers.live_report import LiveReport
from storage import alerts, escalations
from storage import complaints as complaints_repo
from storage.alerts import AlertRecord
from storage.complaints import ComplaintView

# Of each list: what fits beside the figures at 1280×720; the full lists are a click away.
SHOWN = 3


@dataclass(frozen=True)
class Escalations:
    awaiting_approval: int
    missed_deadline: int
    approvals: list[ComplaintView]  # the longest-waiting first
    breaches: list[ComplaintView]  # the first breach first


@dataclass(frozen=True)
class Wallboard:
    now: datetime
    report: LiveReport
    escalations: Escalations
    open_alerts: int
    alerts: list[AlertRecord]  # the newest first


async def wallboard(session: AsyncSession, now: datetime, *, zone: ZoneInfo, threshold_s: int) -> Wallboard:
    report = await live_report.live(session, now, zone=zone, threshold_s=threshold_s)
    awaiting, missed = await escalations.counts(session)
    approvals = await escalations.waiting_approval(session, SHOWN)
    breaches = await escalations.escalated(session, SHOWN)
    return Wallboard(
        now=now,
        report=report,
        escalations=Escalations(
            awaiting,
            missed,
            [item.complaint for item in approvals],
            [item.complaint for item in breaches],
        ),
        open_alerts=await complaints_repo.count_open_alerts(session),
        alerts=await alerts.newest_open(session, SHOWN),
    )
