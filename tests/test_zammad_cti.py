"""Zammad's Generic CTI, replayed: the payloads of Zammad's own request spec
(tests/peers/zammad_cti.json names the files and commits) posted to /telephony/cti/{token}
get Zammad's answers; and what Zammad's PBXs expect of a call's life (who answered, the
voicemail, an answer crossing a hangup, the PBX's queue), seen through the real app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import CtiOutbound, Settings
from handlers.customers import NewCustomer, create_customer
from storage.customers import update_fields
from storage.models import User
from tests.conftest import Staff
from tests.routing_fixtures import Callers, seed

TOKEN = "zammad-cti-secret"
URL = f"/telephony/cti/{TOKEN}"
PEER = json.loads((Path(__file__).parent / "peers" / "zammad_cti.json").read_text(encoding="utf-8"))
CONFIG = PEER["config"]["cti_config"]
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def zammad(settings: Settings) -> Any:
    settings = settings.model_copy(
        update={
            "cti_token": TOKEN,
            "routing_budget_seconds": 30.0,
            "cti_outbound_caller_ids": CtiOutbound.model_validate(CONFIG["outbound"]),
        }
    )
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


async def block(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Zammad's inbound block list is our blacklist: each blocked caller id is a blacklisted
    customer with that number, written as Zammad's config writes it."""
    async with sessions() as session:
        for row in CONFIG["inbound"]["block_caller_ids"]:
            customer = await create_customer(
                session, None, NewCustomer(name="blocked", phones=(row["caller_id"],))
            )
            await update_fields(session, customer.id, blacklisted=True, blacklist_reason=row["note"])
        await session.commit()


def form(params: dict[str, Any]) -> list[tuple[str, str]]:
    """As Rails' test client posts `params:`: a list value is repeated under `key[]`."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if isinstance(value, list):
            pairs.extend((f"{key}[]", str(item)) for item in value)
        else:
            pairs.append((key, str(value)))
    return pairs


async def post(client: Client, step: dict[str, Any]) -> Any:
    url = f"/telephony/cti/{step['path_token']}" if "path_token" in step else URL
    if step["encoding"] == "json":
        return await client.post(url, json=step["post"])
    return await client.post(url, data=form(step["post"]))


@pytest.mark.parametrize("scenario", list(PEER["scenarios"]))
async def test_zammads_own_request_spec_gets_zammads_answers(
    zammad: Client, sessions: async_sessionmaker[AsyncSession], scenario: str
) -> None:
    await block(sessions)
    for number, step in enumerate(PEER["scenarios"][scenario]):
        response = await post(zammad, step)
        where = f"{scenario}, step {number + 1} ({step['post']['event']} {step['post']['call_id']})"
        assert response.status == step["status"], f"{where}: {await response.text()}"
        assert response.content_type == "application/json", where
        body = await response.json()
        if step["status"] == 200:
            assert body == step["answer"], where
        else:
            assert body["message"] == step["error"], where


async def call(client: Client, **params: Any) -> Any:
    response = await client.post(URL, data=form(params))
    assert response.status == 200, await response.text()
    return await response.json()


async def contact(client: Client, staff: Staff, customer_id: int, call_id: str) -> dict[str, Any]:
    profile = await (await client.get(f"/api/v1/customers/{customer_id}", headers=staff.agent)).json()
    [found] = [c for c in profile["contacts"] if c["external_id"] == call_id]
    return dict(found)


async def test_the_reject_is_zammads_whether_the_body_says_callId_or_call_id(
    zammad: Client, callers: Callers
) -> None:
    for key in ("call_id", "callId"):
        body = {"event": "newCall", "direction": "in", key: f"r-{key}", "from": "13800000666", "to": "1"}
        assert await (await zammad.post(URL, data=body)).json() == {"action": "reject", "reason": "busy"}
        assert await (await zammad.post(URL, json={**body, key: f"j-{key}"})).json() == {
            "action": "reject",
            "reason": "busy",
        }


async def test_a_wrong_token_is_refused_whatever_else_is_right(zammad: Client, callers: Callers) -> None:
    body = {"event": "newCall", "direction": "in", "call_id": "t", "from": "13800000001"}
    for token in ("nope", TOKEN[:-1], TOKEN + "x"):
        response = await zammad.post(f"/telephony/cti/{token}", data=body)
        assert response.status == 401
        assert (await response.json())["error"] == "unauthenticated"


async def test_routing_still_happens_behind_zammads_empty_answer(
    zammad: Client, callers: Callers, staff: Staff
) -> None:
    assert (
        await call(zammad, event="newCall", direction="in", call_id="v1", **{"from": "8613800000001"}) == {}
    )
    routed = await contact(zammad, staff, callers.vip, "v1")
    assert (routed["queue"], routed["agent_login"]) == ("vip", "agent1")


async def test_the_agent_who_answered_is_found_by_their_phone_login_or_id_then_by_user(
    zammad: Client, callers: Callers, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        await session.execute(update(User).where(User.login == "agent2").values(phone="+8613900000002"))
        agent2_id = (await session.execute(User.__table__.select().where(User.login == "agent2"))).first().id
        await session.commit()
    answers = (
        ("p1", {"answeringNumber": "13900000002"}),  # the phone, as the PBX writes it
        ("p2", {"answeringNumber": "008613900000002", "user": "agent1"}),  # the number wins
        ("p3", {"answeringNumber": "agent2"}),  # a login
        ("p4", {"answeringNumber": str(agent2_id)}),  # an id
        ("p5", {"answeringNumber": "555", "user[]": ["nobody", "agent2"]}),  # then the names
        ("p6", {"user": "Nobody, agent2"}),  # a comma-separated string
    )
    for call_id, who in answers:
        await call(zammad, event="newCall", direction="in", call_id=call_id, **{"from": "13800000001"})
        names = who.pop("user[]", None)
        response = await zammad.post(
            URL,
            data=[("event", "answer"), ("direction", "in"), ("call_id", call_id), *who.items()]
            + [("user[]", name) for name in names or ()],
        )
        assert await response.json() == {}
        answered = await contact(zammad, staff, callers.vip, call_id)
        assert answered["agent_login"] == "agent2", call_id
        assert answered["answered_at"] is not None
        await call(zammad, event="hangup", direction="in", call_id=call_id, cause="normalClearing")


async def test_the_voicemail_answering_leaves_every_agent_free(
    zammad: Client, callers: Callers, staff: Staff
) -> None:
    await call(zammad, event="newCall", direction="in", call_id="vm", **{"from": "13800000001"})
    assert (await contact(zammad, staff, callers.vip, "vm"))["agent_login"] == "agent1"
    await call(zammad, event="answer", direction="in", call_id="vm", user="voicemail")
    taken = await contact(zammad, staff, callers.vip, "vm")
    assert (taken["agent_login"], taken["disposition"]) == (None, "voicemail")
    assert taken["answered_at"] is not None
    # agent1 was offered the call and is free again: the next VIP caller reaches them
    await call(zammad, event="newCall", direction="in", call_id="vm2", **{"from": "13800000001"})
    assert (await contact(zammad, staff, callers.vip, "vm2"))["agent_login"] == "agent1"
    await call(zammad, event="hangup", direction="in", call_id="vm", cause="normalClearing")
    ended = await contact(zammad, staff, callers.vip, "vm")
    assert (ended["disposition"], ended["ended_at"] is not None) == ("voicemail", True)


async def test_an_answer_after_the_hangup_changes_nothing(
    zammad: Client, callers: Callers, staff: Staff
) -> None:
    # a caller is offered to agent1 and hangs up before anyone answers
    await call(zammad, event="newCall", direction="in", call_id="late", **{"from": "13800000004"})
    await call(zammad, event="hangup", direction="in", call_id="late", cause="cancel")
    before = await contact(zammad, staff, callers.regular, "late")
    # the answer for the hung-up call crosses the hangup, naming agent2
    assert await call(zammad, event="answer", direction="in", call_id="late", user="agent2") == {}
    after = await contact(zammad, staff, callers.regular, "late")
    assert after == before
    assert (after["answered_at"], after["disposition"]) == (None, "cancel")
    # agent2 was not made busy: the next caller reaches agent2, idle longest now that the
    # hangup freed agent1 (had the answer claimed agent2, agent1 would get it)
    await call(zammad, event="newCall", direction="in", call_id="next", **{"from": "13800000002"})
    assert (await contact(zammad, staff, callers.preferred, "next"))["agent_login"] == "agent2"


async def test_a_queue_the_pbx_names_is_the_routing_hint_when_we_know_it(
    zammad: Client, callers: Callers, staff: Staff
) -> None:
    await call(
        zammad, event="newCall", direction="in", call_id="q1", queue="complaints", **{"from": "13800000004"}
    )
    await call(
        zammad,
        event="newCall",
        direction="in",
        call_id="q2",
        queue="no_such_queue",
        **{"from": "13800000002"},
    )
    hinted = await contact(zammad, staff, callers.regular, "q1")
    unknown = await contact(zammad, staff, callers.preferred, "q2")
    assert (hinted["queue"], hinted["reason"]) == ("complaints", "default")
    assert (unknown["queue"], unknown["reason"]) == ("general", "preferred")


async def test_an_outbound_call_without_a_matching_rule_keeps_the_pbxs_caller_id(
    settings: Settings, callers: Callers, staff: Staff
) -> None:
    rules = CtiOutbound.model_validate({"routing_table": [{"dest": "0041*", "caller_id": "41715880339000"}]})
    plain = settings.model_copy(update={"cti_token": TOKEN, "cti_outbound_caller_ids": rules})
    async with TestClient(TestServer(create_app(plain))) as client:
        swiss = {"event": "newCall", "direction": "out", "call_id": "o1", "to": "0041715880339"}
        assert await call(client, **swiss) == {
            "action": "dial",
            "number": "0041715880339",
            "caller_id": "41715880339000",
        }
        local = {
            "event": "newCall",
            "direction": "out",
            "call_id": "o2",
            "to": "13800000002",
            "user": "agent2",
        }
        assert await call(client, **local) == {}
        logged = await contact(client, staff, callers.preferred, "o2")
        assert (logged["direction"], logged["agent_login"]) == ("out", "agent2")


@pytest.fixture
async def callers(sessions: async_sessionmaker[AsyncSession], staff: Staff) -> Callers:
    return await seed(sessions)


async def test_the_older_door_tells_zammad_style_requests_zammads_reject(
    zammad: Client, callers: Callers
) -> None:
    blocked = {"event": "newCall", "direction": "in", "from": "13800000666"}
    in_url = await zammad.post(f"/telephony/cti?token={TOKEN}", data={**blocked, "call_id": "u1"})
    assert await in_url.json() == {"action": "reject", "reason": "busy"}
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    zammad_names = await zammad.post("/telephony/cti", json={**blocked, "callId": "u2"}, headers=bearer)
    assert await zammad_names.json() == {"action": "reject", "reason": "busy"}
    ours = await zammad.post("/telephony/cti", json={**blocked, "call_id": "u3"}, headers=bearer)
    assert (await ours.json())["reason"] == "blacklisted"
