"""The supervisor's wallboard (`/supervisor` and its socket) as a supervisor reads it: calls
placed through the CTI webhook with known timings, and every figure on the board checked
against a count by hand; alerts opened and acknowledged; who may do what."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.keys import CLOCK
from callcenter.settings import Settings
from handlers import complaints
from handlers.complaints import ComplaintPolicy
from handlers.customers import NewCustomer, create_customer
from storage.models.base import utcnow
from storage.models.surveys import Alert
from storage.models.users import User
from tests.conftest import Staff
from tests.console_client import CTI, CTI_TOKEN, csrf_in, sign_in
from tests.routing_fixtures import seed

Client = TestClient[web.Request, web.Application]


def pinned_now(settings: Settings) -> datetime:
    """Now, unless the operator's day began less than 20 minutes ago: then 20 minutes into
    it, so that every call of these tests (at most 10 minutes back) falls on today."""
    now = utcnow()
    local = now.astimezone(ZoneInfo(settings.timezone))
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(now, day_start + timedelta(minutes=20))


# The moment the console's clock is held at, per app.
HELD = web.AppKey("held_now", datetime)


@pytest.fixture
async def board(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], staff: Staff
) -> AsyncIterator[Client]:
    """The console with its clock held at one moment (the calls' timings are relative to it),
    and agents seeded as the routing tests seed them."""
    await seed(sessions)
    app = create_app(settings.model_copy(update={"cti_token": CTI_TOKEN}))
    now = pinned_now(settings)
    app[CLOCK] = lambda: now
    app[HELD] = now
    async with TestClient(TestServer(app)) as client:
        yield client


def now_of(client: Client) -> datetime:
    return client.app[HELD]


async def cti(client: Client, event: str, call_id: str, seconds_ago: int, **fields: str) -> dict[str, Any]:
    """A call event as the PBX sends it, with the moment it happened."""
    moment = now_of(client) - timedelta(seconds=seconds_ago)
    body = {"event": event, "call_id": call_id, "timestamp": moment.isoformat(), **fields}
    response = await client.post("/telephony/cti", json=body, headers=CTI)
    assert response.status == 200, await response.text()
    return dict(await response.json())


# Callers nobody knows: routing sends each to the general queue.
def stranger(n: int) -> str:
    return f"1390000{n:04d}"


async def place_todays_calls(client: Client) -> None:
    """Four calls to the general queue, by hand (threshold 20 s):
    A waited 10 s (within), talked 180 s; B waited 40 s (late), talked 300 s; C hung up after
    30 s unanswered (abandoned); D has waited 45 s and still waits."""
    routed = await cti(client, "newCall", "A", 600, **{"from": stranger(1)})
    assert routed["queue"] == "general", routed
    await cti(client, "answer", "A", 590, agent="agent1")
    await cti(client, "hangup", "A", 410)
    await cti(client, "newCall", "B", 500, **{"from": stranger(2)})
    await cti(client, "answer", "B", 460, agent="agent1")
    await cti(client, "hangup", "B", 160)
    await cti(client, "newCall", "C", 300, **{"from": stranger(3)})
    await cti(client, "hangup", "C", 270)
    await cti(client, "newCall", "D", 45, **{"from": stranger(4)})


def cells(html: str, attribute: str, value: str) -> list[str]:
    """The text of each cell of the row `attribute="value"`, as the screen shows it."""
    row = re.search(rf'<tr {attribute}="{re.escape(value)}"[^>]*>(.*?)</tr>', html, re.DOTALL)
    assert row is not None, f"no row {attribute}={value}"
    found = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.DOTALL)
    return [unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in found]


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


async def as_browser(client: Client, login: str, language: str = "en") -> str:
    """Signed in through the form, in `language`: the wallboard's HTML."""
    assert (await sign_in(client, login, "pw-" + login)).status == 302
    page = await (await client.get("/supervisor")).text()
    chosen = await client.post(
        "/language", data={"language": language, "csrf": csrf_in(page), "back": "/supervisor"}
    )
    return await chosen.text()


async def test_the_queue_row_and_the_agent_row_show_the_hand_count(board: Client) -> None:
    await place_todays_calls(board)
    page = await as_browser(board, "supervisor")
    assert cells(page, "data-queue", "general") == [
        "General",
        "1",  # D waits
        "0:45",  # since D was routed
        "4",  # offered: A, B, C, D
        "2",  # answered: A, B
        "1",  # abandoned: C
        "25%",  # service level: only A within 20 s, of 4 offered
        "25%",  # abandonment: C of 4
        "0:25",  # average wait of the answered: (10 + 40) / 2
        "4:00",  # average handle: (180 + 300) / 2
        "0",  # no chat waits
        "—",
        "0",  # nor is open
    ]
    assert "Service level (20 s)" in page
    agent = cells(page, "data-agent", "agent1")
    assert (agent[3], agent[4], agent[5]) == ("2", "4:00", "0")  # handled today, average handle, chats
    # A quiet queue reads as nothing yet, not as zero per cent.
    assert cells(page, "data-queue", "vip")[1:] == [
        "0",
        "—",
        "0",
        "0",
        "0",
        "—",
        "—",
        "—",
        "—",
        "0",
        "—",
        "0",
    ]
    # The longest wait ticks in the browser from the moment D was routed, in UTC with its offset.
    since = re.search(r'<tr data-queue="general".*?data-since="([^"]+)"', page, re.DOTALL)
    assert since is not None
    assert datetime.fromisoformat(since.group(1)) == now_of(board) - timedelta(seconds=45)

    chinese = await (
        await board.post("/language", data={"language": "zh", "csrf": csrf_in(page), "back": "/supervisor"})
    ).text()
    assert cells(chinese, "data-queue", "general")[:7] == ["综合", "1", "0:45", "4", "2", "1", "25%"]
    assert "服务水平（20 秒）" in chinese


async def test_the_socket_shows_a_call_ringing_then_answered(board: Client, staff: Staff) -> None:
    async with board.ws_connect("/supervisor/ws", headers=staff.supervisor) as socket:
        first = await next_parts(socket)
        assert cells(first["wb-queues"], "data-queue", "general")[1] == "0"

        await cti(board, "newCall", "R", 5, **{"from": stranger(9)})
        ringing = await parts_until(
            socket, lambda p: cells(p["wb-queues"], "data-queue", "general")[1] == "1"
        )
        assert cells(ringing["wb-queues"], "data-queue", "general")[3] == "1"  # offered

        await cti(board, "answer", "R", 0, agent="agent1")
        answered = await parts_until(
            socket,
            lambda p: "wb-queues" in p and cells(p["wb-queues"], "data-queue", "general")[4] == "1",
        )
        assert cells(answered["wb-queues"], "data-queue", "general")[1:3] == ["0", "—"]
        if "wb-agents" not in answered:
            answered = await parts_until(socket, lambda p: "wb-agents" in p)
        # The board's language is the supervisor's (Chinese by default): 通话中 is "on a call".
        assert cells(answered["wb-agents"], "data-agent", "agent1")[1] in ("通话中", "On a call")


async def next_parts(socket: Any, wait: float = 10) -> dict[str, str]:
    async with asyncio.timeout(wait):
        message = await socket.receive_json()
    assert message["type"] == "wallboard"
    return dict(message["parts"])


async def parts_until(socket: Any, shown: Any, wait: float = 10) -> dict[str, str]:
    """The parts pushed until `shown` holds of what the page then shows (parts not pushed
    again stay as they were)."""
    page: dict[str, str] = {}
    async with asyncio.timeout(wait):
        while True:
            page.update(await next_parts(socket))
            try:
                if shown(page):
                    return page
            except (KeyError, AssertionError):
                continue


POLICY = ComplaintPolicy()


async def overdue_complaint(sessions: async_sessionmaker[AsyncSession], phone: str) -> str:
    """A complaint lodged four days ago that nobody acknowledged: the worker raises its alert."""
    async with sessions() as session:
        customer = await create_customer(session, None, NewCustomer(name="王芳", phones=(phone,)))
        lodged = await complaints.lodge(
            session,
            customer_id=customer.id,
            category="network",
            description="no signal",
            channel="phone",
            severity="urgent",
            now=utcnow() - timedelta(days=4),
            policy=POLICY,
        )
        assert await complaints.escalate_due(session)
    return lodged.ticket


# The complaint's open alert (a later breach clears the alert of an earlier one).
OPEN_ALERT = select(Alert.id).where(Alert.cleared_at.is_(None)).order_by(Alert.id)


def alert_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<li id="alert-(\d+)"', html)]


async def test_an_alert_opens_its_complaint_and_once_acknowledged_leaves_the_board(
    board: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ticket = await overdue_complaint(sessions, "13800000201")
    page = await as_browser(board, "supervisor")
    shown = alert_ids(page)
    assert shown, "the overdue complaint's alert is on the board"
    first = shown[0]
    alert = re.search(rf'<li id="alert-{first}">(.*?)</li>', page, re.DOTALL)
    assert alert is not None
    assert f'href="/complaints/{ticket}"' in alert.group(1)
    assert "Deadline missed" in text_of(alert.group(1))
    counted = int(re.findall(r'class="count alert-count[^"]*">(\d+)<', page)[0])
    # The escalations part counts the complaint and links to it, without the customer's name.
    escalations = text_of(page.split('id="wb-escalations"')[1].split("</section>")[0])
    assert "1 missed a deadline" in escalations
    assert ticket in escalations
    assert "王芳" not in page

    action = f"/supervisor/alerts/{first}/acknowledge"
    assert (await board.post(action, data={"csrf": "forged"}, allow_redirects=False)).status == 403
    acknowledged = await board.post(action, data={"csrf": csrf_in(page)}, allow_redirects=False)
    assert (acknowledged.status, acknowledged.headers["Location"]) == (303, "/supervisor")

    again = await (await board.get("/supervisor")).text()
    assert first not in alert_ids(again)
    assert int(re.findall(r'class="count alert-count[^"]*">(\d+)<', again)[0]) == counted - 1
    listed = await (await board.get("/api/v1/alerts", headers=staff.supervisor)).json()
    assert first not in [a["id"] for a in listed["alerts"]]
    async with sessions() as session:
        row = await session.get(Alert, first)
        assert row is not None
        assert row.cleared_at is not None
        who = await session.get(User, row.acknowledged_by_id)
    assert who is not None
    assert who.login == "supervisor"


async def test_the_api_acknowledges_for_supervisors_once_and_refuses_agents(
    board: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await overdue_complaint(sessions, "13800000202")
    async with sessions() as session:
        first = (await session.execute(OPEN_ALERT)).scalars().first()
    assert first is not None
    path = f"/api/v1/alerts/{first}/acknowledge"
    refused = await board.post(path, headers=staff.agent)
    assert refused.status == 403
    done = await board.post(path, headers=staff.admin)
    assert done.status == 200
    body = await done.json()
    assert (body["id"], body["acknowledged_by"]) == (first, "admin")
    assert body["cleared_at"] is not None
    twice = await board.post(path, headers=staff.supervisor)
    assert twice.status == 409
    assert (await twice.json())["details"]["acknowledged_by"] == "admin"
    assert (await board.post("/api/v1/alerts/999999/acknowledge", headers=staff.supervisor)).status == 404
    assert (await board.post("/api/v1/alerts/x/acknowledge", headers=staff.supervisor)).status == 400
    # A signed-in browser's cookie alone does not acknowledge (another site could send it).
    await as_browser(board, "supervisor")
    assert (await board.post(path)).status == 403
    document = await (await board.get("/api/v1/openapi.json")).json()
    assert "post" in document["paths"]["/alerts/{alert_id}/acknowledge"]


async def test_an_agent_gets_a_403_for_the_wallboard_its_socket_and_its_buttons(
    board: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await overdue_complaint(sessions, "13800000203")
    async with sessions() as session:
        first = (await session.execute(OPEN_ALERT)).scalars().first()
    assert (await board.get("/supervisor", headers=staff.agent)).status == 403
    assert (await board.get("/supervisor/ws", headers=staff.agent)).status == 403
    assert (await sign_in(board, "agent1", "pw")).status == 302  # seeded with skills and "pw"
    agent_page = await (await board.get("/agent")).text()
    pressed = await board.post(
        f"/supervisor/alerts/{first}/acknowledge", data={"csrf": csrf_in(agent_page)}, allow_redirects=False
    )
    assert pressed.status == 403
    async with sessions() as session:
        row = await session.get(Alert, first)
    assert row is not None
    assert row.cleared_at is None
