"""The agent console and supervisor view: sign-in, screen pops over the socket, isolation."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.agent_dispatch import AGENT_DISPATCH
from callcenter.app import create_app
from callcenter.settings import Settings
from handlers.customers import NewCustomer, create_customer
from storage.models import OfferConversion
from tests.conftest import Staff
from tests.console_client import CTI, CTI_TOKEN, call, sign_in, still_registered
from tests.routing_fixtures import Callers, seed

TOKEN = CTI_TOKEN
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def console(settings: Settings) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(settings.model_copy(update={"cti_token": TOKEN})))) as client:
        yield client


@pytest.fixture
async def callers(sessions: async_sessionmaker[AsyncSession], staff: Staff) -> Callers:
    return await seed(sessions)


# What the agent's socket also sends (tests/test_screen_pop_card.py reads them).
PAGE_STATE = ("agent_state", "queues")


async def next_json(socket: Any, wait: float = 5) -> dict[str, Any]:
    """The next message; on the agent's socket, the next pop or call end."""
    async with asyncio.timeout(wait):
        while True:
            message = dict(await socket.receive_json())
            if message.get("type") not in PAGE_STATE:
                return message


async def until_quiet(socket: Any, quiet: float = 0.5) -> list[dict[str, Any]]:
    """Every pop or call end the socket sends until it has said nothing for `quiet` seconds."""
    heard: list[dict[str, Any]] = []
    while True:
        try:
            heard.append(await next_json(socket, wait=quiet))
        except TimeoutError:
            return heard


async def test_signing_in_with_the_form_opens_the_agent_console(console: Client, callers: Callers) -> None:
    wrong = await sign_in(console, "agent1", "nope")
    assert wrong.status == 401
    assert "Wrong login or password." in await wrong.text()
    ok = await sign_in(console, "agent1", "pw")
    assert (ok.status, ok.headers["Location"]) == (302, "/agent")
    page = await (await console.get("/agent")).text()
    assert "agent1 (agent)" in page or "Agent" in page
    assert 'id="pops"' in page


async def test_the_console_sends_strangers_to_the_login_form(console: Client) -> None:
    response = await console.get("/agent", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/login?next=/agent")


async def test_a_form_without_its_csrf_token_is_refused(console: Client, callers: Callers) -> None:
    response = await console.post("/login", data={"login": "agent1", "password": "pw"})
    assert response.status == 403


async def test_an_unauthenticated_socket_is_refused(console: Client) -> None:
    response = await console.get("/agent/ws")
    assert response.status == 401


async def test_the_agent_gets_the_callers_card_when_the_call_is_answered(
    console: Client, callers: Callers, staff: Staff
) -> None:
    async with console.ws_connect("/agent/ws", headers=staff.agent) as socket:
        await call(console, "pop-1", "13800000005")  # the complainer: routed to agent1 (complaints skill)
        offered = await next_json(socket)
    assert offered["type"] == "screen_pop"
    assert offered["call_id"] == "pop-1"
    assert offered["customer"]["name"] == "complainer"
    html = offered["html"]
    assert "complainer" in html
    assert "Open complaints" in html
    assert "wrong bill" not in html  # descriptions stay on the full profile
    assert "billing" in html


async def test_an_agent_never_receives_or_opens_another_agents_pop(
    console: Client, callers: Callers, staff: Staff
) -> None:
    async with console.ws_connect("/agent/ws", headers=staff.agent2) as socket:
        decision = await call(console, "pop-2", "13800000001")  # VIP → agent1
        assert decision["agent"] == "agent1"
        with pytest.raises(TimeoutError):
            await next_json(socket, wait=0.5)
    forbidden = await console.get("/agent/calls/pop-2/card", headers=staff.agent2)
    assert forbidden.status == 403
    allowed = await console.get("/agent/calls/pop-2/card", headers=staff.supervisor)
    assert allowed.status == 200


async def test_both_tabs_of_an_agent_get_the_pop_and_closed_tabs_leave_nothing_behind(
    console: Client, callers: Callers, staff: Staff
) -> None:
    dispatch = console.app[AGENT_DISPATCH]
    async with (
        console.ws_connect("/agent/ws", headers=staff.agent) as first,
        console.ws_connect("/agent/ws", headers=staff.agent) as second,
        console.ws_connect("/agent/ws", headers=staff.agent2) as other,
    ):
        # The socket's first message (the availability) follows its registration.
        assert (await other.receive_json())["type"] == "agent_state"
        await call(console, "tabs-1", "13800000001")  # VIP → agent1
        pops = [await next_json(first), await next_json(second)]
        with pytest.raises(TimeoutError):
            await next_json(other, wait=0.5)
        assert {login: len(held) for login, held in dispatch.inboxes.items()} == {"agent1": 2, "agent2": 1}
    assert [(p["type"], p["call_id"]) for p in pops] == [("screen_pop", "tabs-1")] * 2
    assert await still_registered(console.app) == {}


async def test_a_customer_named_script_is_shown_as_text(
    console: Client, callers: Callers, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        await create_customer(
            session, None, NewCustomer(name="<script>alert(1)</script>", phones=("13800000777",), tier="vip")
        )
    async with console.ws_connect("/agent/ws", headers=staff.agent) as socket:
        await call(console, "pop-3", "13800000777")
        pop = await next_json(socket)
    assert "<script>" not in pop["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pop["html"]


async def test_a_reconnecting_agent_gets_the_call_still_in_progress(
    console: Client, callers: Callers, staff: Staff
) -> None:
    await call(console, "pop-4", "13800000001", agent="agent1")
    async with console.ws_connect("/agent/ws", headers=staff.agent) as socket:
        pop = await next_json(socket)
    assert (pop["type"], pop["call_id"]) == ("screen_pop", "pop-4")
    await console.post("/telephony/cti", json={"event": "hangup", "call_id": "pop-4"}, headers=CTI)
    # Once the call has ended, a new socket shows no pop for it. (The hangup's own `call_ended`
    # may still reach it: the bus delivers it a moment after the webhook has answered.)
    async with console.ws_connect("/agent/ws", headers=staff.agent) as socket:
        heard = await until_quiet(socket)
    assert [m for m in heard if m["type"] != "call_ended"] == []


async def test_from_the_pop_the_agent_sets_the_disposition_and_logs_a_complaint(
    console: Client, callers: Callers, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await call(console, "pop-5", "13800000001", agent="agent1")
    disposition = await console.post(
        "/agent/calls/pop-5/disposition",
        data={"disposition": "explained bill", "offer_accepted": "TV"},
        headers=staff.agent,
    )
    assert (await disposition.json())["disposition"] == "explained bill"
    async with sessions() as session:
        converted = (await session.execute(select(OfferConversion))).scalars().all()
    assert [(c.customer_id, c.offer_code, c.channel) for c in converted] == [(callers.vip, "TV", "phone")]
    lodged = await console.post(
        "/agent/calls/pop-5/complaint",
        data={"category": "billing", "description": "charged twice"},
        headers=staff.agent,
    )
    assert lodged.status == 201
    complaint = await lodged.json()
    assert (complaint["customer_id"], complaint["channel"]) == (callers.vip, "phone")


async def test_an_agent_who_never_set_a_state_is_shown_offline(console: Client, staff: Staff) -> None:
    async with console.ws_connect("/agent/ws", headers=staff.agent) as socket:
        while (message := await socket.receive_json(timeout=5))["type"] != "agent_state":
            pass
    assert message["state"] == "offline"


async def test_the_supervisor_sees_queues_and_agent_states_move(
    console: Client, callers: Callers, staff: Staff
) -> None:
    """The wallboard's parts, pushed as the floor moves (tests/test_supervisor_dashboard.py
    reads every figure)."""

    def state_of(parts: dict[str, str], login: str) -> str:
        return re.findall(
            rf'data-agent="{login}".*?class="badge availability-(\w+)"', parts["wb-agents"], re.S
        )[0]

    def waiting(parts: dict[str, str]) -> int:
        return sum(int(n) for n in re.findall(r'class="n waiting-count">(\d+)<', parts["wb-queues"]))

    async with console.ws_connect("/supervisor/ws", headers=staff.supervisor) as socket:
        shown = dict((await next_json(socket))["parts"])
        assert state_of(shown, "agent2") == "available"
        await console.post(
            "/agent/state", data={"state": "wrap_up"}, headers={**staff.agent2, "Accept": "application/json"}
        )
        while state_of(shown, "agent2") != "wrap_up":
            shown.update((await next_json(socket))["parts"])
        await call(console, "waiting-1", "13800000004")  # no agent free for it
        while not waiting(shown):
            shown.update((await next_json(socket))["parts"])
    agent_socket = await console.get("/supervisor/ws", headers=staff.agent)
    assert agent_socket.status == 403


@pytest.mark.postgres
async def test_a_pop_reaches_the_agent_on_another_instance(
    postgres_database: str, staff: Staff, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the cross-instance bus is PostgreSQL's")
    await seed(sessions)
    one = settings.model_copy(update={"cti_token": TOKEN})
    async with (
        TestClient(TestServer(create_app(one))) as first,
        TestClient(TestServer(create_app(one))) as second,
        second.ws_connect("/agent/ws", headers=staff.agent) as socket,
    ):
        await asyncio.sleep(0.2)  # LISTEN is in place
        await call(first, "x-1", "13800000001")
        pop = await next_json(socket)
    assert (pop["type"], pop["call_id"], pop["customer"]["name"]) == ("screen_pop", "x-1", "vip")


async def audit_of(console: Client, staff: Staff, customer_id: int) -> list[dict[str, Any]]:
    response = await console.get(
        "/api/v1/audit", params={"customer_id": customer_id}, headers=staff.supervisor
    )
    return [e for e in (await response.json())["entries"] if e["action"] == "customer.card"]


async def test_every_card_the_agent_sees_is_in_the_callers_audit_trail(
    console: Client, callers: Callers, staff: Staff
) -> None:
    async with console.ws_connect("/agent/ws", headers=staff.agent) as socket:
        await call(console, "seen-1", "13800000001")  # VIP → agent1
        assert (await next_json(socket))["call_id"] == "seen-1"
    # A socket still opening may get the pop as a replay as well as pushed: each is an entry.
    pushed = await audit_of(console, staff, callers.vip)
    assert pushed
    assert {(e["actor"], e["via"], e["details"]["call_id"]) for e in pushed} == {("agent1", "ws", "seen-1")}

    assert (await console.get("/agent/calls/seen-1/card", headers=staff.agent)).status == 200
    opened = (await audit_of(console, staff, callers.vip))[0]
    assert (opened["actor"], opened["via"], opened["details"]) == ("agent1", "console", {"call_id": "seen-1"})


async def test_the_card_replayed_to_a_reconnecting_agent_is_audited_too(
    console: Client, callers: Callers, staff: Staff
) -> None:
    await call(console, "seen-2", "13800000001", agent="agent1")
    async with console.ws_connect("/agent/ws", headers=staff.agent) as socket:
        assert (await next_json(socket))["call_id"] == "seen-2"
    [replayed] = await audit_of(console, staff, callers.vip)
    assert (replayed["actor"], replayed["via"]) == ("agent1", "ws")
    assert replayed["details"] == {"call_id": "seen-2", "replay": True}


async def test_a_card_refused_to_another_agent_leaves_no_entry(
    console: Client, callers: Callers, staff: Staff
) -> None:
    await call(console, "seen-3", "13800000001")  # offered to agent1
    assert (await console.get("/agent/calls/seen-3/card", headers=staff.agent2)).status == 403
    assert await audit_of(console, staff, callers.vip) == []


def configured_rules(settings: Settings) -> Settings:
    """An operator's calendar where the next fortnight is a holiday, and a category of its own."""
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    return settings.model_copy(
        update={
            "cti_token": TOKEN,
            "holidays": [today + timedelta(days=d) for d in range(15)],
            "complaint_categories": ["roaming", "billing"],
        }
    )


async def test_a_complaint_logged_from_the_pop_follows_the_operators_calendar_and_categories(
    settings: Settings, callers: Callers, staff: Staff
) -> None:
    async with TestClient(TestServer(create_app(configured_rules(settings)))) as console:
        await call(console, "pop-rules", "13800000001", agent="agent1")
        lodged = await console.post(
            "/agent/calls/pop-rules/complaint",
            data={"category": "roaming", "description": "no service abroad"},
            headers=staff.agent,
        )
        assert lodged.status == 201, await lodged.text()
        complaint = await lodged.json()
    assert complaint["category"] == "roaming"
    received = datetime.fromisoformat(complaint["created_at"])
    # One working day to acknowledge: the first one after the fortnight of holidays.
    assert datetime.fromisoformat(complaint["acknowledge_due_at"]) - received > timedelta(days=14)
