"""`GET /supervisor/satisfaction`: trend, open complaints by age, alerts — rendered on the server."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from callcenter.auth import require_user
from callcenter.charts import line_chart, stacked_bars
from callcenter.complaints_setup import TARGETS
from callcenter.keys import SESSIONS
from handlers import reports
from handlers.roles import MANAGERS
from storage import complaint_ages
from storage import complaints as complaints_repo
from storage.models.base import utcnow
from templates import render

WEEKS = 12


async def satisfaction_page(request: web.Request) -> web.Response:
    user = await require_user(request, *MANAGERS)
    now = utcnow()
    targets = request.app[TARGETS]
    labels: list[str] = []
    csat: list[float | None] = []
    nps: list[float | None] = []
    async with request.app[SESSIONS]() as session:
        # One report per week keeps the SQL portable (no date_trunc on SQLite); 12 small queries.
        for week in range(WEEKS, 0, -1):
            start = now - timedelta(weeks=week)
            rows = await reports.satisfaction(session, start, start + timedelta(weeks=1))
            labels.append(start.date().strftime("%m-%d"))
            csat.append(rows[0].csat_average if rows else None)
            nps.append(rows[0].nps if rows else None)
        ages = await complaint_ages.open_by_age(session, now)
        alerts = await complaints_repo.open_alerts(session)
        breaches = await reports.target_breaches(session, now, targets)
    age_labels = list(ages)
    html = render(
        "pages/satisfaction.html.j2",
        user=user,
        targets=targets,
        breaches=breaches,
        alerts=alerts,
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
    return web.Response(text=html, content_type="text/html")


def setup(app: web.Application) -> None:
    app.router.add_get("/supervisor/satisfaction", satisfaction_page)
