"""`GET /supervisor/satisfaction`: trend, open complaints by age, alerts — rendered on the server."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from callcenter.charts import bar_chart, line_chart
from callcenter.complaints_setup import TARGETS
from callcenter.console_pages import render_page, require_page_user
from callcenter.keys import REPORT_SESSIONS, SETTINGS
from handlers import reports
from handlers.roles import MANAGERS
from storage.models.base import utcnow

WEEKS = 12
# The chats report under the charts: the last 30 days, by agent and by queue.
CHAT_DAYS = 30


async def satisfaction_page(request: web.Request) -> web.Response:
    user = await require_page_user(request, *MANAGERS)
    now = utcnow()
    targets = request.app[TARGETS]
    zone = ZoneInfo(request.app[SETTINGS].timezone)
    async with request.app[REPORT_SESSIONS]() as session:
        found = await reports.overview(session, now, targets, WEEKS)
        since = now - timedelta(days=CHAT_DAYS)
        chats = {
            group: await reports.conversations(session, since, now, group)
            for group in reports.CONVERSATION_GROUPS
        }
    # Each week by the operator's date it starts on: month-day under the axis, the whole
    # date on hover.
    starts = [w.start.astimezone(zone).date() for w in found.weeks]
    labels = [d.strftime("%m-%d") for d in starts]
    days = [d.isoformat() for d in starts]
    ages = found.ages
    return await render_page(
        request,
        "pages/satisfaction.html.j2",
        user,
        targets=targets,
        breaches=found.breaches,
        alerts=found.alerts,
        open_alert_count=found.open_alert_count,
        csat=line_chart(
            labels, [w.csat for w in found.weeks], low=1, high=5, target=targets.csat_min, titles=days
        ),
        nps=line_chart(
            labels, [w.nps for w in found.weeks], low=-100, high=100, target=targets.nps_min, titles=days
        ),
        ages=bar_chart(
            list(ages), {"within": [c[0] for c in ages.values()], "overdue": [c[1] for c in ages.values()]}
        ),
        overdue_count=sum(c[1] for c in ages.values()),
        chats=chats,
        chat_days=CHAT_DAYS,
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/supervisor/satisfaction", satisfaction_page)
