"""`GET /supervisor/audit`: the audit trail on a page, filtered by customer, actor and time,
with times in the operator's time zone."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from aiohttp import web

from callcenter.console_pages import render_page, require_page_user
from callcenter.keys import SESSIONS, SETTINGS
from handlers import audit
from handlers.errors import InvalidInput
from storage.audit import AuditRecord

FILTERS = ("customer_id", "actor", "since", "limit")


def _row(record: AuditRecord, zone: ZoneInfo) -> dict[str, object]:
    return {
        "at": record.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
        "actor": record.actor,
        "via": record.via,
        "action": record.action,
        "customer_id": record.customer_id,
        "details": json.dumps(record.details, ensure_ascii=False, sort_keys=True) if record.details else "",
    }


async def audit_page(request: web.Request) -> web.Response:
    user = await require_page_user(request, *audit.READERS)
    zone = ZoneInfo(request.app[SETTINGS].timezone)
    asked = {name: request.query.get(name, "").strip() for name in FILTERS}
    rows: list[dict[str, object]] = []
    error = None
    try:
        # A datetime-local field has no offset: it means the operator's own clock.
        query = audit.parse_query(**asked, naive_zone=zone)
    except InvalidInput as problem:
        error = problem.message
    else:
        async with request.app[SESSIONS]() as session:
            rows = [_row(r, zone) for r in await audit.read_trail(session, user, query)]
    return await render_page(
        request,
        "pages/audit.html.j2",
        user,
        status=400 if error else 200,
        asked=asked,
        rows=rows,
        error=error,
        zone=zone.key,
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/supervisor/audit", audit_page)
