"""`GET /supervisor/satisfaction`: trend, open complaints by age, alerts — rendered on the server."""

from __future__ import annotations

from aiohttp import web

from callcenter.charts import line_chart, stacked_bars
from callcenter.complaints_setup import TARGETS
from callcenter.console_pages import render_page, require_page_user
from callcenter.keys import SESSIONS
from handlers import reports
from handlers.roles import MANAGERS
from storage.models.base import utcnow

WEEKS = 12


async def satisfaction_page(request: web.Request) -> web.Response:
    user = await require_page_user(request, *MANAGERS)
    now = utcnow()
    targets = request.app[TARGETS]
    async with request.app[SESSIONS]() as session:
        found = await reports.overview(session, now, targets, WEEKS)
    labels = [w.start.date().strftime("%m-%d") for w in found.weeks]
    csat = [w.csat for w in found.weeks]
    nps = [w.nps for w in found.weeks]
    ages = found.ages
    age_labels = list(ages)
    return await render_page(
        request,
        "pages/satisfaction.html.j2",
        user,
        targets=targets,
        breaches=found.breaches,
        alerts=found.alerts,
        csat_lines=line_chart(labels, {"CSAT": csat}, low=1, high=5),
        nps_lines=line_chart(labels, {"NPS": nps}, low=-100, high=100),
        csat_target_y=line_chart(["a", "b"], {"t": [targets.csat_min] * 2}, low=1, high=5)[0].points[0].y,
        nps_target_y=line_chart(["a", "b"], {"t": [targets.nps_min] * 2}, low=-100, high=100)[0].points[0].y,
        bars=stacked_bars(
            age_labels,
            {"within": [ages[a][0] for a in age_labels], "overdue": [ages[a][1] for a in age_labels]},
        ),
        ages=ages,
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/supervisor/satisfaction", satisfaction_page)
