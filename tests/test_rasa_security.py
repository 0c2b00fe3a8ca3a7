"""The Rasa action endpoint as an attacker and a careless operator meet it: no token, no
entry; a number or customer id typed into the chat opens nobody's record; a complaint from
a sender nobody vouched for waits for agents to verify it; every read is audited."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import Settings
from handlers import complaints, surveys
from handlers.complaints import ComplaintPolicy
from handlers.customers import NewCustomer, create_customer
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_sync
from storage.models import AuditEntry, Complaint, Customer, CustomerIdentity, OutboxMessage
from tests.conftest import REPO_ROOT, Staff
from tests.test_customers_api import Client
from tests.test_rasa_actions import DOMAIN, TOKEN, caller, rasa_request, rasa_settings, run, slots_set

POLICY = ComplaintPolicy()  # the default rules, passed as every adapter passes its own

ACTIONS_THAT_READ = (
    "action_identify_customer",
    "action_complaint_status",
    "action_suggest_offer",
    "action_record_survey",
)


@pytest.fixture
def settings(database_url: str, engine: AsyncEngine) -> Settings:
    return rasa_settings(database_url)


@pytest.fixture
async def wang(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """A customer with a Telegram link, an open complaint and a survey waiting for her."""
    async with sessions() as session:
        record = await create_customer(
            session,
            None,
            NewCustomer(name="王芳", phones=("13800000001",), telegram_id="8001", language="zh"),
        )
        complaint = await complaints.lodge(
            session,
            customer_id=record.id,
            category="billing",
            description="charged twice",
            channel="api",
            policy=POLICY,
        )
        survey = await surveys.send_survey(
            session, customer_id=record.id, kind="csat", trigger="call", channel="phone"
        )
    return {"id": record.id, "ticket": complaint.ticket, "survey": survey.id}


async def tickets_told(sessions: async_sessionmaker[AsyncSession], customer_id: int) -> list[str]:
    """The tickets of the messages queued for the customer (the outbox)."""
    async with sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.payload)
            .where(OutboxMessage.customer_id == customer_id)
            .order_by(OutboxMessage.id)
        )
        return [str(payload.get("ticket")) for payload in rows.scalars()]


async def audit_rows(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[Any, ...]]:
    """What the audit trail holds about the Rasa door."""
    async with sessions() as session:
        rows = await session.execute(
            select(AuditEntry.actor, AuditEntry.via, AuditEntry.customer_id, AuditEntry.action)
            .where(AuditEntry.via == "rasa")
            .order_by(AuditEntry.id)
        )
        return [tuple(r) for r in rows]


# --- the door ---------------------------------------------------------------------------


async def test_without_a_configured_token_every_call_is_refused(
    database_url: str, engine: AsyncEngine
) -> None:
    unset = Settings(database_url=database_url, default_region="CN")
    async with TestClient(TestServer(create_app(unset))) as client:
        for params, headers in (({}, {}), ({"token": ""}, {}), ({}, {"Authorization": "Bearer "})):
            response = await client.post(
                "/rasa/webhook",
                json=rasa_request("action_identify_customer", "8001", channel="telegram"),
                params=params,
                headers=headers,
            )
            assert response.status == 401
            body = await response.json()
            assert body["error"] == "unauthenticated"
            assert "CONTACTDESK_RASA_TOKEN" in body["message"]


async def test_a_wrong_token_is_refused_in_the_url_and_in_the_header(client: Client) -> None:
    body = rasa_request("action_identify_customer", "8001", channel="telegram")
    for params, headers in (
        ({"token": TOKEN + "x"}, {}),
        ({}, {"Authorization": f"Bearer {TOKEN[:-1]}"}),
        ({}, {"Authorization": f"Basic {TOKEN}"}),
        ({}, {}),
    ):
        response = await client.post("/rasa/webhook", json=body, params=params, headers=headers)
        assert response.status == 401, (params, headers)
        assert (await response.json())["error"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_the_right_token_opens_the_door_as_rasa_sends_it_and_as_a_bearer(
    client: Client, wang: dict[str, Any]
) -> None:
    body = rasa_request("action_identify_customer", "8001", channel="telegram")
    as_rasa = await client.post("/rasa/webhook", json=body, params={"token": TOKEN})
    as_bearer = await client.post("/rasa/webhook", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    for response in (as_rasa, as_bearer):
        assert response.status == 200
        assert (await response.json())["responses"][0]["text"] == "您好，王芳！请问有什么可以帮您？"


async def test_the_openapi_document_says_how_the_webhook_is_authenticated(client: Client) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    operation = document["paths"]["/rasa/webhook"]["post"]
    assert {"401", "400", "404"} <= set(operation["responses"])
    schemes = document["components"]["securitySchemes"]
    used = {name for requirement in operation["security"] for name in requirement}
    assert {(schemes[n]["type"], schemes[n].get("in"), schemes[n].get("scheme")) for n in used} == {
        ("apiKey", "query", None),
        ("http", None, "bearer"),
    }
    assert any(schemes[n].get("name") == "token" for n in used)


# --- who is asking ----------------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS_THAT_READ)
@pytest.mark.parametrize(
    "claim",
    [
        {"sender": "web-visitor-9", "slots": {"phone": "13800000001"}},
        {"sender": "web-visitor-9", "slots": {"customer_id": "WANG"}},
        {"sender": "+86 138 0000 0001"},  # a sender id that looks like her number
        {"sender": "8001"},  # her Telegram id, but not through Telegram
        {"sender": "web-visitor-9", "metadata": {"caller": "13800000001"}},  # untrusted channel
        {"sender": "9999", "channel": "telegram", "slots": {"phone": "13800000001"}},  # unlinked
    ],
    ids=[
        "phone-slot",
        "customer-id-slot",
        "phone-sender",
        "telegram-id-on-rest",
        "caller-untrusted",
        "unlinked",
    ],
)
async def test_a_number_or_id_from_the_conversation_reveals_nothing(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    wang: dict[str, Any],
    action: str,
    claim: dict[str, Any],
) -> None:
    slots = {
        key: (wang["id"] if value == "WANG" else value) for key, value in claim.get("slots", {}).items()
    } | {"survey_score": "1", "survey_id": float(wang["survey"]), "language": "en"}
    status, result = await run(
        client,
        rasa_request(
            action,
            claim["sender"],
            slots=slots,
            channel=claim.get("channel", "rest"),
            metadata=claim.get("metadata"),
        ),
    )
    assert status == 200
    said = " ".join(r["text"] for r in result["responses"])
    assert "王芳" not in said
    assert wang["ticket"] not in said
    assert said.startswith("For your privacy I can share account details only")
    assert slots_set(result).get("customer_id") is None
    assert slots_set(result).get("customer_name") is None
    async with sessions() as session:
        answered = await surveys.list_surveys(session, customer_id=wang["id"], answered=True)
    assert answered == []  # nobody rated the service in her name
    assert await audit_rows(sessions) == []  # nothing was read, so nothing to record


async def test_a_linked_telegram_user_gets_their_own_status_and_the_read_is_audited(
    client: Client, sessions: async_sessionmaker[AsyncSession], wang: dict[str, Any]
) -> None:
    status, result = await run(client, rasa_request("action_complaint_status", "8001", channel="telegram"))
    assert status == 200
    assert result["responses"][0]["text"].startswith(wang["ticket"])
    assert slots_set(result)["customer_id"] == wang["id"]
    await run(client, rasa_request("action_suggest_offer", "8001", channel="telegram"))
    assert await audit_rows(sessions) == [
        ("rasa:telegram:8001", "rasa", wang["id"], "complaint.list"),
        ("rasa:telegram:8001", "rasa", wang["id"], "offer.read"),
    ]


async def test_a_trusted_voice_gateway_vouches_for_the_caller_and_the_read_is_audited(
    client: Client, sessions: async_sessionmaker[AsyncSession], wang: dict[str, Any]
) -> None:
    _, result = await run(
        client, rasa_request("action_identify_customer", "call-42", **caller("+86 138 0000 0001"))
    )
    assert result["responses"][0]["text"] == "您好，王芳！请问有什么可以帮您？"
    assert await audit_rows(sessions) == [("rasa:voice:call-42", "rasa", wang["id"], "customer.read")]


# --- a complaint nobody vouched for -----------------------------------------------------


async def test_an_unverified_complaint_is_kept_for_agents_to_verify_and_the_customer_hears_nothing(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession], wang: dict[str, Any]
) -> None:
    before = await tickets_told(sessions, wang["id"])
    assert before == [wang["ticket"]]  # a verified complaint is acknowledged to her
    status, result = await run(
        client,
        rasa_request(
            "action_lodge_complaint",
            "web-visitor-5",
            slots={
                "phone": "+86 138 0000 0001",
                "customer_id": wang["id"],
                "complaint_category": "network",
                "complaint_description": "no signal at all",
                "language": "en",
            },
        ),
    )
    assert status == 200
    async with sessions() as session:
        lodged = (await session.execute(select(Complaint).where(Complaint.channel == "rasa"))).scalar_one()
    assert (lodged.customer_id, lodged.verified, lodged.claimed_phone) == (
        wang["id"],
        False,
        "+8613800000001",
    )
    said = result["responses"][0]["text"]
    assert said == (
        f"Your complaint is recorded: ticket {lodged.ticket}. We will contact you at the number "
        "you gave to confirm it is yours before we act on it."
    )
    assert slots_set(result)["customer_id"] is None
    assert await tickets_told(sessions, wang["id"]) == before  # she has Telegram, and was told nothing

    response = await client.get(f"/api/v1/complaints/{lodged.id}", headers=staff.agent)
    shown = await response.json()
    assert (shown["verified"], shown["claimed_phone"]) == (False, "+86*********01")
    assert any("not verified" in (e["note"] or "") for e in shown["events"])
    listed = await (await client.get("/api/v1/complaints", headers=staff.agent)).json()
    assert {c["ticket"]: c["verified"] for c in listed["complaints"]} == {
        wang["ticket"]: True,
        lodged.ticket: False,
    }
    assert ("rasa:rest:web-visitor-5", "rasa", wang["id"], "complaint.lodge") in await audit_rows(sessions)

    # Acknowledging it does not tell her either: it is not known to be hers.
    moved = await client.post(
        f"/api/v1/complaints/{lodged.id}/transition", json={"to": "acknowledged"}, headers=staff.agent
    )
    assert moved.status == 200
    assert await tickets_told(sessions, wang["id"]) == before


async def test_an_unverified_complaint_for_an_unknown_number_creates_a_prospect(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, result = await run(
        client,
        rasa_request(
            "action_lodge_complaint",
            "web-visitor-6",
            slots={
                "phone": "13900000077",
                "complaint_category": "billing",
                "complaint_description": "overcharged",
            },
        ),
    )
    assert result["responses"][0]["text"].startswith("投诉已登记，工单号 CD-")
    async with sessions() as session:
        owner = (
            await session.execute(
                select(Customer)
                .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
                .where(CustomerIdentity.kind == "phone", CustomerIdentity.value == "+8613900000077")
            )
        ).scalar_one()
        lodged = (await session.execute(select(Complaint))).scalar_one()
    assert owner.attributes == {"prospect": True}
    assert (lodged.customer_id, lodged.verified) == (owner.id, False)


async def test_an_unverified_sender_without_a_number_is_asked_for_one(client: Client) -> None:
    _, result = await run(
        client,
        rasa_request(
            "action_lodge_complaint",
            "web-visitor-7",
            slots={
                "phone": "not a number",
                "complaint_category": "billing",
                "complaint_description": "x y z",
            },
            metadata={"language": "en"},
        ),
    )
    assert result["responses"][0]["text"].startswith("Please tell me your phone number")
    assert slots_set(result)["phone"] is None


async def test_the_complaint_form_asks_an_unverified_sender_for_their_number(client: Client) -> None:
    body = rasa_request(
        "validate_complaint_form", "web-visitor-8", slots={"requested_slot": "complaint_category"}
    )
    body["tracker"]["active_loop"] = {"name": "complaint_form"}
    body["tracker"]["slots"] |= {"complaint_category": "network", "complaint_description": "no signal at all"}
    _, result = await run(client, body)
    assert slots_set(result)["requested_slot"] == "phone"

    body["tracker"]["slots"]["requested_slot"] = "phone"
    body["tracker"]["latest_message"]["text"] = "138 0000 0001"
    _, answered = await run(client, body)
    assert slots_set(answered) == {"phone": "138 0000 0001", "requested_slot": None}


@pytest.fixture
async def console(settings: Settings) -> AsyncIterator[Client]:
    cti = settings.model_copy(update={"cti_token": "cti-secret"})
    async with TestClient(TestServer(create_app(cti))) as client:
        yield client


async def test_the_agents_card_marks_an_unverified_complaint(
    console: Client, staff: Staff, wang: dict[str, Any]
) -> None:
    await run(
        console,
        rasa_request(
            "action_lodge_complaint",
            "web-visitor-9",
            slots={
                "phone": "13800000001",
                "complaint_category": "network",
                "complaint_description": "no signal",
            },
        ),
    )
    cti = {"Authorization": "Bearer cti-secret"}
    await console.post(
        "/telephony/cti", json={"event": "newCall", "call_id": "rasa-1", "from": "13800000001"}, headers=cti
    )
    card = await (await console.get("/agent/calls/rasa-1/card", headers=staff.supervisor)).text()
    # Hers is verified; the one from the chat is not (the card reads in the agent's language:
    # the tests' console is English, so "Unverified"; 待核实 in Chinese).
    assert card.count('class="badge unverified"') == 1
    assert ">Unverified</span>" in card


# --- the actions on their own -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_rasa_actions_serves_the_same_actions_behind_the_same_token_on_localhost(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'actions.db'}"
    await asyncio.to_thread(upgrade_sync, url)  # it runs its own event loop
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        await create_customer(
            session, None, NewCustomer(name="王芳", phones=("13800000001",), telegram_id="8001")
        )
    await engine.dispose()

    port = free_port()
    env = {**os.environ, "CONTACTDESK_DATABASE_URL": url, "CONTACTDESK_RASA_TOKEN": TOKEN}
    env["PYTHONPATH"] = str(REPO_ROOT)
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "callcenter.cli",
        "rasa-actions",
        "--port",
        str(port),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    body = rasa_request("action_identify_customer", "8001", channel="telegram")
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):  # up to a minute for the interpreter to start on a busy machine
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{base}/healthz") as health:
                        if health.status == 200:
                            break
                await asyncio.sleep(0.2)
            else:
                pytest.fail("contactdesk rasa-actions did not come up")
            async with http.post(f"{base}/rasa/webhook", json=body) as anonymous:
                assert anonymous.status == 401
                assert (await anonymous.json())["error"] == "unauthenticated"
            async with http.post(f"{base}/rasa/webhook", json=body, params={"token": "guess"}) as wrong:
                assert wrong.status == 401
            async with http.post(f"{base}/rasa/webhook", json=body, params={"token": TOKEN}) as rasa:
                assert rasa.status == 200
                assert (await rasa.json())["responses"][0]["text"] == "您好，王芳！请问有什么可以帮您？"
            for elsewhere in ("/agent", "/api/v1/customers", "/api/v1/openapi.json"):
                async with http.get(f"{base}{elsewhere}") as other:
                    assert other.status == 404  # the actions, and nothing else of the app
    finally:
        server.terminate()
        _, log = await asyncio.wait_for(server.communicate(), 30)
    text = log.decode()
    assert f"Running on http://127.0.0.1:{port}" in text  # not on every interface
    assert TOKEN not in text  # the access log leaves the query string out


# --- fuzzing the parser -----------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
SLOT_NAMES = st.sampled_from([*DOMAIN["slots"], "requested_slot"])
EVENTS = st.lists(
    st.fixed_dictionaries(
        {
            "event": st.sampled_from(["user", "action", "slot"]) | JSON,
            "input_channel": st.sampled_from(["telegram", "rest", "voice"]) | JSON,
            "metadata": st.fixed_dictionaries({"caller": st.sampled_from(["13800000001", "x"]) | JSON})
            | JSON,
        }
    )
    | JSON,
    max_size=3,
)
TRACKERS = st.fixed_dictionaries(
    {
        "sender_id": st.sampled_from(["8001", "+8613800000001", ""]) | JSON,
        "slots": st.dictionaries(SLOT_NAMES, JSON | st.sampled_from(["13800000001", "network", "5"])) | JSON,
        "latest_message": st.fixed_dictionaries({"text": JSON, "metadata": JSON}) | JSON,
        "events": EVENTS,
        "active_loop": JSON,
    }
)
ACTION_CALLS = st.fixed_dictionaries(
    {
        "next_action": st.sampled_from(sorted(DOMAIN["actions"])) | JSON,
        "sender_id": JSON,
        "tracker": TRACKERS | JSON,
        "domain": st.just(DOMAIN) | JSON,
    }
)
BODIES = (
    ACTION_CALLS.map(lambda call: json.dumps(call).encode())
    | JSON.map(lambda value: json.dumps(value).encode())
    | st.binary(max_size=200)
)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@hypothesis_settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=BODIES)
async def test_no_body_makes_the_action_endpoint_fail(
    client: Client, wang: dict[str, Any], body: bytes
) -> None:
    response = await client.post(
        "/rasa/webhook",
        data=body,
        params={"token": TOKEN},
        headers={"Content-Type": "application/json"},
    )
    event(f"HTTP {response.status}")  # --hypothesis-show-statistics shows how deep the examples got
    assert response.status < 500, await response.text()
    if response.status != 200:
        assert "error" in await response.json()
