"""`/supervisor`, the supervisor's wallboard, and `/supervisor/ws`, its socket: today's
figures per queue and per agent, the quarter-hour chart, escalations and open alerts
(handlers/wallboard.py), rendered on the server in the supervisor's language. The socket
pushes the parts again, rendered with the same templates, whenever the floor moves.

A busy floor moves many times a second: each socket only notes that it moved, and one read
per process at most once a second (SupervisorBoard) serves every open wallboard. Between
events the board is read again now and then, since some of what it shows moves without a
call (the chart's quarter hours, deadlines the escalation worker finds breached)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import api_alerts, charts
from callcenter.auth import require_user
from callcenter.console_auth import check_csrf, csrf_token
from callcenter.console_pages import page_language, render_page, require_page_user
from callcenter.console_sockets import open_socket, serve, signed_out
from callcenter.keys import CLOCK, EVENTS, SESSIONS, SETTINGS
from callcenter.latest_read import LatestRead
from callcenter.serialize import json_response, read_form
from callcenter.web_security import check_origin
from handlers.errors import Conflict
from handlers.roles import MANAGERS
from handlers.wallboard import Wallboard, wallboard
from storage.events import SUPERVISOR
from storage.users import UserRecord
from templates import render

PAGE = "/supervisor"
# The page's live parts: the id of the element each fills, and its template.
PARTS = {
    "wb-queues": "console/wallboard/queues.html.j2",
    "wb-agents": "console/wallboard/agents.html.j2",
    "wb-chart": "console/wallboard/chart.html.j2",
    "wb-escalations": "console/wallboard/escalations.html.j2",
    "wb-alerts": "console/wallboard/alerts.html.j2",
}
# Seconds between reads when nothing happens on the floor.
QUIET_REFRESH = 30.0


async def _read(session: AsyncSession, app: web.Application) -> Wallboard:
    # The floor's events say "changed", not what: every read is of the whole board.
    settings = app[SETTINGS]
    return await wallboard(
        session, app[CLOCK](), zone=ZoneInfo(settings.timezone), threshold_s=settings.service_level_seconds
    )


class SupervisorBoard(LatestRead[Wallboard]):
    def __init__(self, app: web.Application, interval: float = 1.0) -> None:
        super().__init__(lambda session: _read(session, app), interval)


WALLBOARD = web.AppKey("wallboard", SupervisorBoard)


# The chart's size in pixels: the width of its card beside the agents at 1280×720.
CHART = (690, 190)


def _figures(board: Wallboard, zone: ZoneInfo) -> dict[str, Any]:
    """What the part templates read."""

    def ago(seconds: float) -> datetime:
        return board.now - timedelta(seconds=seconds)

    return {
        "now": board.now,
        "ago": ago,
        "report": board.report,
        "interval_chart": charts.interval_chart(
            board.report.intervals, zone, width=CHART[0], height=CHART[1]
        ),
        "escalations": board.escalations,
        "open_alerts": board.open_alerts,
        "alerts": board.alerts,
    }


async def _parts(request: web.Request, user: UserRecord, board: Wallboard) -> dict[str, str]:
    shared = {
        "language": await page_language(request, user),
        "timezone": request.app[SETTINGS].timezone,
        "csrf": await csrf_token(request),
        **_figures(board, ZoneInfo(request.app[SETTINGS].timezone)),
    }
    return {part: render(template, **shared) for part, template in PARTS.items()}


async def supervisor_page(request: web.Request) -> web.Response:
    user = await require_page_user(request, *MANAGERS)
    async with request.app[SESSIONS]() as session:
        board = await _read(session, request.app)
    zone = ZoneInfo(request.app[SETTINGS].timezone)
    return await render_page(request, "console/supervisor.html.j2", user, **_figures(board, zone))


class WallboardFeed:
    """One socket's pushes: the parts that changed since it last sent them."""

    def __init__(self, request: web.Request, user: UserRecord, socket: web.WebSocketResponse) -> None:
        self.request = request
        self.user = user
        self.socket = socket
        self.moved = asyncio.Event()
        # On opening: a read from the last second is fresh enough (a reconnect after a gap
        # gets the whole board again: nothing has been sent on this socket yet).
        self.moved_at = time.monotonic() - 1.0
        self.moved.set()
        self.shown: dict[str, str] = {}

    async def listen(self, events: Any) -> None:
        async for _event in events:
            # Noted, not read here: queues_changed and agent_state come with every call's
            # steps (route, answer, hang-up), alerts_changed with an acknowledgement.
            self.moved_at = time.monotonic()
            self.moved.set()

    async def push(self) -> None:
        board = self.request.app[WALLBOARD]
        while True:
            try:
                await asyncio.wait_for(self.moved.wait(), QUIET_REFRESH)
            except TimeoutError:
                self.moved_at = time.monotonic()
            self.moved.clear()
            read = await board.newer_than(self.moved_at, self.request.app[SESSIONS])
            # Escalations name complaints: not for a user signed out since the socket opened.
            if await signed_out(self.request, self.socket):
                return
            parts = await _parts(self.request, self.user, read)
            fresh = {part: html for part, html in parts.items() if self.shown.get(part) != html}
            if fresh and not self.socket.closed:
                await self.socket.send_json({"type": "wallboard", "parts": fresh})
                self.shown.update(fresh)


async def supervisor_socket(request: web.Request) -> web.StreamResponse:
    check_origin(request)
    user = await require_user(request, *MANAGERS)  # 401 or 403 before the upgrade
    socket = await open_socket(request)
    feed = WallboardFeed(request, user, socket)
    async with request.app[EVENTS].subscribe(SUPERVISOR) as events:
        await serve(request, socket, feed.listen(events), feed.push())
    return socket


async def acknowledge_from_form(request: web.Request) -> web.StreamResponse:
    """The wallboard's Acknowledge button: back to the wallboard, or (the page's script asks
    for JSON) the acknowledged alert."""
    user = await require_page_user(request, *MANAGERS)
    form = await read_form(request)
    await check_csrf(request, str(form.get("csrf", "")))
    try:
        done: object = await api_alerts.acknowledge(request, user)
    except Conflict as already:
        # Another supervisor was first: the alert has left the list all the same.
        done = {"acknowledged_by": already.details.get("acknowledged_by")}
    if request.headers.get("Accept", "").startswith("application/json"):
        return json_response(done)
    raise web.HTTPSeeOther(PAGE)


def setup(app: web.Application) -> None:
    app[WALLBOARD] = SupervisorBoard(app)
    app.router.add_get(PAGE, supervisor_page)
    app.router.add_get(PAGE + "/ws", supervisor_socket)
    app.router.add_post(PAGE + r"/alerts/{alert_id:\d+}/acknowledge", acknowledge_from_form)
