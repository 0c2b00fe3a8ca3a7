"""Calls routed through the generic CTI webhook, as a PBX script sees the answers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.keys import EVENTS
from callcenter.settings import Settings
from storage.events import CALLS
from storage.models import AgentState, Contact
from tests.conftest import Staff
from tests.routing_fixtures import Callers, seed

TOKEN = "cti-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def cti(settings: Settings) -> Any:
    # These tests read the rules' answers; the budget's fallback has tests of its own, and a
    # first call on a cold PostgreSQL pool once took longer than the default budget in CI.
    settings = settings.model_copy(update={"cti_token": TOKEN, "routing_budget_seconds": 30.0})
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


@pytest.fixture
async def callers(sessions: async_sessionmaker[AsyncSession], staff: Staff) -> Callers:
    # after `staff`, whose agent1 and agent2 have no skills: seeding gives them theirs
    return await seed(sessions)


async def new_call(client: Client, call_id: str, caller: str, **extra: Any) -> dict[str, Any]:
    body = {
        "event": "newCall",
        "call_id": call_id,
        "from": caller,
        "to": "+862000000000",
        "direction": "in",
        **extra,
    }
    response = await client.post("/telephony/cti", json=body, headers=AUTH)
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def test_each_kind_of_caller_is_routed_as_the_rules_say(cti: Client, callers: Callers) -> None:
    vip = await new_call(cti, "c1", "013800000001")
    assert vip == {
        "action": "route",
        "queue": "vip",
        "priority": 100,
        "reason": "vip",
        "agent": "agent1",
        "customer_id": callers.vip,
    }

    preferred = await new_call(cti, "c2", "+86 138 0000 0002")
    assert (preferred["queue"], preferred["priority"], preferred["reason"]) == ("general", 50, "preferred")
    assert preferred["agent"] == "agent2"  # agent1 is on the VIP call

    regular = await new_call(cti, "c3", "8613800000004")
    assert (regular["queue"], regular["priority"], regular["reason"]) == ("general", 20, "default")
    assert "agent" not in regular  # both agents are busy: the call waits in the queue

    blacklisted = await new_call(cti, "c4", "13800000666")
    assert blacklisted["action"] == "reject"
    assert blacklisted["reason"] == "blacklisted"

    unknown = await new_call(cti, "c5", "13999999999")
    assert (unknown["queue"], unknown["priority"], unknown["ivr"]) == ("general", 10, True)
    assert "customer_id" not in unknown

    english = await new_call(cti, "c6", "+8613800000003")
    assert (english["queue"], english["reason"]) == ("english", "english-speaker")

    complainer = await new_call(cti, "c7", "13800000005")
    assert (complainer["queue"], complainer["priority"], complainer["reason"]) == (
        "complaints",
        80,
        "open-complaint",
    )


async def test_a_caller_calling_back_within_a_week_goes_to_the_complaints_desk(
    cti: Client, callers: Callers
) -> None:
    first = await new_call(cti, "first", "13800000004")
    assert first["reason"] == "default"
    again = await new_call(cti, "second", "13800000004")
    assert (again["queue"], again["reason"]) == ("complaints", "repeat-contact")


async def test_zammad_generic_cti_form_posts_work_unchanged(cti: Client, callers: Callers) -> None:
    form = {
        "event": "newCall",
        "callId": "z1",
        "from": "13800000666",
        "to": "862000000000",
        "direction": "in",
    }
    response = await cti.post(f"/telephony/cti?token={TOKEN}", data=form)
    assert await response.json() == {"action": "reject", "reason": "busy"}
    routed = await cti.post(
        f"/telephony/cti?token={TOKEN}",
        data={"event": "newCall", "callId": "z2", "from": "13800000001", "to": "1", "direction": "in"},
    )
    assert (await routed.json())["queue"] == "vip"
    answered = await cti.post(
        f"/telephony/cti?token={TOKEN}", data={"event": "answer", "callId": "z2", "user": "agent1"}
    )
    assert answered.status == 200


async def test_a_repeated_delivery_gets_the_same_answer_and_is_logged_once(
    cti: Client, callers: Callers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await new_call(cti, "dup", "13800000002")
    second = await new_call(cti, "dup", "13800000002")
    assert first == second
    async with sessions() as session:
        count = (await session.execute(select(func.count()).select_from(Contact))).scalar_one()
    assert count == 1


async def test_bad_requests_are_told_what_is_wrong(cti: Client, callers: Callers) -> None:
    no_token = await cti.post("/telephony/cti", json={"event": "newCall", "call_id": "x"})
    assert no_token.status == 401
    wrong = await cti.post(
        "/telephony/cti", json={"event": "newCall", "call_id": "x"}, headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status == 401
    no_id = await cti.post("/telephony/cti", json={"event": "newCall", "from": "1"}, headers=AUTH)
    assert no_id.status == 400
    assert "call_id" in (await no_id.json())["message"]
    bad_event = await cti.post("/telephony/cti", json={"event": "ring", "call_id": "x"}, headers=AUTH)
    assert bad_event.status == 400
    broken = await cti.post(
        "/telephony/cti", data="{not json", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert broken.status == 400
    unknown_hangup = await cti.post(
        "/telephony/cti", json={"event": "hangup", "call_id": "never"}, headers=AUTH
    )
    assert unknown_hangup.status == 404


async def test_answer_and_hangup_move_the_agent_and_reach_the_bus(
    cti: Client, callers: Callers, staff: Staff
) -> None:
    app = cti.server.app
    assert app is not None
    async with app[EVENTS].subscribe(CALLS) as events:
        await new_call(cti, "life", "13800000001")
        offered = await asyncio.wait_for(anext(events), 5)
        await cti.post(
            "/telephony/cti", json={"event": "answer", "call_id": "life", "agent": "agent1"}, headers=AUTH
        )
        answered = await asyncio.wait_for(anext(events), 5)
        await cti.post(
            "/telephony/cti",
            json={"event": "hangup", "call_id": "life", "cause": "normalClearing"},
            headers=AUTH,
        )
        ended = await asyncio.wait_for(anext(events), 5)
    assert [e["type"] for e in (offered, answered, ended)] == ["call_offered", "call_answered", "call_ended"]
    assert offered["agent"] == answered["agent"] == "agent1"
    assert offered["customer_id"] == callers.vip

    profile = await (await cti.get(f"/api/v1/customers/{callers.vip}", headers=staff.agent)).json()
    [contact] = profile["contacts"]
    assert (contact["reason"], contact["queue"], contact["agent_login"]) == ("vip", "vip", "agent1")
    assert contact["answered_at"] is not None
    assert contact["ended_at"] is not None

    # agent1 is free again: the next VIP call is offered to them
    again = await new_call(cti, "next", "13800000001")
    assert again["agent"] == "agent1"


async def test_a_hangup_delivered_several_times_at_once_frees_the_agent_once(
    cti: Client, callers: Callers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        await session.execute(update(AgentState).values(capacity=2))
        await session.commit()
    for call_id in ("cap-1", "cap-2"):
        assert (await new_call(cti, call_id, "13800000001"))["agent"] == "agent1"
    hangup = {"event": "hangup", "call_id": "cap-1"}
    answers = await asyncio.gather(*(cti.post("/telephony/cti", json=hangup, headers=AUTH) for _ in range(8)))
    assert {answer.status for answer in answers} == {200}
    # The one place the hangup freed goes to the next VIP call, and no more.
    assert (await new_call(cti, "cap-3", "13800000001"))["agent"] == "agent1"
    assert (await new_call(cti, "cap-4", "13800000001")).get("agent") != "agent1"


async def test_an_outbound_call_joins_the_customers_contacts(
    cti: Client, callers: Callers, staff: Staff
) -> None:
    response = await cti.post(
        "/telephony/cti",
        json={
            "event": "newCall",
            "call_id": "out1",
            "from": "+862000000000",
            "to": "13800000002",
            "direction": "out",
            "agent": "agent2",
        },
        headers=AUTH,
    )
    assert await response.json() == {"action": "logged"}
    profile = await (await cti.get(f"/api/v1/customers/{callers.preferred}", headers=staff.agent)).json()
    assert [(c["direction"], c["agent_login"]) for c in profile["contacts"]] == [("out", "agent2")]


async def test_with_the_database_down_the_caller_still_reaches_the_default_queue() -> None:
    settings = Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none", cti_token=TOKEN)
    async with TestClient(TestServer(create_app(settings))) as client:
        response = await client.post(
            "/telephony/cti",
            json={"event": "newCall", "call_id": "down", "from": "13800000001"},
            headers=AUTH,
        )
        body = await response.json()
        metrics = await (await client.get("/metrics")).text()
    assert (body["action"], body["queue"], body["priority"]) == ("route", "general", 0)
    assert body["reason"].startswith("fallback")
    assert "contactdesk_routing_fallbacks_total" in metrics


async def test_a_database_slower_than_the_budget_gets_the_default_queue_in_time(
    settings: Settings, callers: Callers
) -> None:
    # The reason is the proof the budget answered rather than the database (how fast is
    # bench/routing.py's to measure).
    slow = settings.model_copy(update={"cti_token": TOKEN, "routing_budget_seconds": 0.0005})
    async with TestClient(TestServer(create_app(slow))) as client:
        response = await client.post(
            "/telephony/cti",
            json={"event": "newCall", "call_id": "slow", "from": "13800000001"},
            headers=AUTH,
        )
        body = await response.json()
    assert (body["action"], body["queue"]) == ("route", "general")
    assert body["reason"] == "fallback-timeout"


MALFORMED = (
    ("multipart/form-data", b"event=newCall&call_id=m1"),
    ("multipart/form-data; boundary=xyz", b"garbage"),
    ("application/x-www-form-urlencoded", b"event=newCall&call_id=\xff\xfe"),
    ("application/x-www-form-urlencoded; charset=no-such-charset", b"event=newCall&call_id=m1"),
    ("application/x-www-form-urlencoded", b"event=newCall&call_id=m%00"),
    ("application/json", b'{"event": "newCall", "call_id": "\xff"}'),
    ("application/json; charset=no-such-charset", b'{"event": "newCall", "call_id": "m1"}'),
    ("application/json", b"[" * 50_000 + b"]" * 50_000),
    ("application/json", b'{"event": "newCall", "call_id": "m\\u0000"}'),
    ("application/json", b'{"event": "newCall", "call_id": "m\\ud800"}'),
    ("application/json", b'["newCall"]'),
    ("text/plain", b"event=newCall&call_id=m1"),
)


@pytest.mark.parametrize(("content_type", "raw"), MALFORMED)
async def test_a_malformed_body_is_a_400_for_the_pbx_and_a_401_for_strangers(
    cti: Client, callers: Callers, content_type: str, raw: bytes
) -> None:
    response = await cti.post("/telephony/cti", data=raw, headers={**AUTH, "Content-Type": content_type})
    assert response.status == 400, await response.text()
    assert (await response.json())["error"]
    stranger = await cti.post("/telephony/cti", data=raw, headers={"Content-Type": content_type})
    assert stranger.status == 401


async def test_a_call_id_or_cause_too_long_for_the_contact_log_is_refused_or_cut(
    cti: Client, callers: Callers
) -> None:
    too_long = await cti.post(
        "/telephony/cti", json={"event": "newCall", "call_id": "c" * 500, "from": "13800000001"}, headers=AUTH
    )
    assert too_long.status == 400
    assert "call_id" in (await too_long.json())["message"]
    await new_call(cti, "cut", "13800000004")
    hangup = await cti.post(
        "/telephony/cti",
        json={"event": "hangup", "call_id": "cut", "cause": "x" * 500, "duration": "٣٣"},
        headers=AUTH,
    )
    assert hangup.status == 200
