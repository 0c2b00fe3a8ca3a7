"""`GET /api/v1/reports/live`: the supervisor's live figures as JSON, today in the operator's
time zone (handlers/live_report.py defines every figure)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from callcenter.auth import require_user
from callcenter.keys import CLOCK, OPENAPI, SESSIONS, SETTINGS
from callcenter.openapi import error_responses, json_ok, returned
from callcenter.serialize import json_response
from handlers import live_report
from handlers.roles import MANAGERS


async def live(request: web.Request) -> web.Response:
    await require_user(request, *MANAGERS)
    settings = request.app[SETTINGS]
    async with request.app[SESSIONS]() as session:
        report = await live_report.live(
            session,
            request.app[CLOCK](),
            zone=ZoneInfo(settings.timezone),
            threshold_s=settings.service_level_seconds,
        )
    return json_response(report)


PATHS: dict[str, Any] = {
    "/reports/live": {
        "get": {
            "summary": "Today's queues, agents and quarter hours, live (supervisors and admins); "
            "service level within CONTACTDESK_SERVICE_LEVEL_SECONDS, today in CONTACTDESK_TIMEZONE",
            "responses": {**json_ok(returned(live_report.LiveReport)), **error_responses(401, 403)},
        }
    }
}


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/reports/live", live)
    app[OPENAPI].add(PATHS)
