"""`GET /api/v1/alerts` (the open ones) and `POST /api/v1/alerts/{alert_id}/acknowledge`,
for supervisors and admins. An acknowledgement is announced on the supervisor channel, so
every dashboard drops the alert at once."""

from __future__ import annotations

from aiohttp import web

from callcenter.auth import require_user
from callcenter.console_auth import check_form
from callcenter.keys import EVENTS, OPENAPI, SESSIONS
from callcenter.openapi import error_responses, id_in_path, json_ok, obj, returned
from callcenter.params import path_id
from callcenter.serialize import json_response
from handlers import alerts, reports
from handlers.roles import MANAGERS
from storage.alerts import AlertRecord
from storage.complaints import AlertView
from storage.events import SUPERVISOR
from storage.models.base import utcnow
from storage.users import UserRecord

# What dashboards listen for besides the floor's own events.
ALERTS_CHANGED = {"type": "alerts_changed"}


async def acknowledge(request: web.Request, user: UserRecord) -> AlertRecord:
    """The alert in the path, acknowledged by `user` (the API's door and the dashboard's)."""
    alert_id = path_id(request, "alert_id")
    async with request.app[SESSIONS]() as session:
        done = await alerts.acknowledge(session, user, alert_id, utcnow())
    await request.app[EVENTS].publish(SUPERVISOR, ALERTS_CHANGED)
    return done


async def list_alerts(request: web.Request) -> web.Response:
    await require_user(request, *MANAGERS)
    async with request.app[SESSIONS]() as session:
        found = await reports.open_alerts(session)
    return json_response({"alerts": found})


async def acknowledge_alert(request: web.Request) -> web.Response:
    user = await require_user(request, *MANAGERS)
    # No body to require JSON of: a browser's cookie alone (another site's form) is not
    # enough, it takes a token or the console's CSRF token.
    await check_form(request, {"csrf": request.headers.get("X-CSRF-Token", "")})
    return json_response(await acknowledge(request, user))


PATHS = {
    "/alerts": {
        "get": {
            "summary": "Open supervisor alerts, newest first (supervisors and admins)",
            "responses": {
                **json_ok(obj({"alerts": {"type": "array", "items": returned(AlertView)}})),
                **error_responses(401, 403),
            },
        }
    },
    "/alerts/{alert_id}/acknowledge": {
        "post": {
            "summary": "Acknowledge an open alert: who and when are kept, and it leaves the open "
            "list (supervisors and admins, with a bearer token; 409 when it was already acknowledged)",
            "parameters": [id_in_path("alert_id")],
            "responses": {**json_ok(returned(AlertRecord)), **error_responses(400, 401, 403, 404, 409)},
        }
    },
}


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/alerts", list_alerts)
    app.router.add_post(r"/api/v1/alerts/{alert_id}/acknowledge", acknowledge_alert)
    app[OPENAPI].add(PATHS)
