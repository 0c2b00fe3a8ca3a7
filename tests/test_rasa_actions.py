"""Rasa custom actions through `/rasa/webhook`, with requests shaped as a Rasa 3 server sends.

Senders here are the ones a channel vouches for: a linked Telegram user on the `telegram`
channel, or a caller number from the trusted voice channel `voice`. What everyone else
gets (nothing) is in test_rasa_security.py."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.actions import Services, ValidateComplaintForm
from callcenter.settings import Settings
from handlers import surveys
from handlers.calendar import WorkCalendar
from handlers.complaints import ComplaintPolicy
from handlers.customers import NewCustomer, create_customer
from handlers.inbox.routing import InboxPolicy
from handlers.routing.rules import load_rules
from storage.events import InProcessBus
from storage.models import Complaint
from tests.conftest import REPO_ROOT
from tests.test_customers_api import Client

ASSISTANT = REPO_ROOT / "rasa_assistant"
DOMAIN = yaml.safe_load((ASSISTANT / "domain.yml").read_text(encoding="utf-8"))
TOKEN = "rasa-secret-for-tests"
VOICE = "voice"  # the voice gateway's input channel, marked as trusted below


def rasa_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        default_region="CN",
        rasa_token=TOKEN,
        rasa_trusted_channels=[VOICE],
    )


@pytest.fixture
def settings(database_url: str, engine: AsyncEngine) -> Settings:
    # Depending on `engine` empties the tables before the app sees them.
    return rasa_settings(database_url)


def caller(number: str, **metadata: Any) -> dict[str, Any]:
    """What the trusted voice gateway sends: the caller's number in the message metadata."""
    return {"channel": VOICE, "metadata": {"caller": number, **metadata}}


def rasa_request(
    action: str,
    sender: str = "web-visitor-1",
    *,
    slots: dict[str, Any] | None = None,
    text: str = "",
    channel: str = "rest",
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    now = time.time()
    all_slots = {name: None for name in DOMAIN["slots"]} | (slots or {})
    latest = {
        "intent": {"name": "inform", "confidence": 0.97},
        "entities": [],
        "text": text,
        "message_id": "m1",
        "metadata": metadata or {},
    }
    return {
        "next_action": action,
        "sender_id": sender,
        "tracker": {
            "sender_id": sender,
            "slots": all_slots,
            "latest_message": latest,
            "latest_event_time": now,
            "followup_action": None,
            "paused": False,
            "events": [
                {"event": "action", "timestamp": now - 2, "name": "action_session_start"},
                {
                    "event": "user",
                    "timestamp": now - 1,
                    "text": text,
                    "parse_data": latest,
                    "input_channel": channel,
                    "message_id": "m1",
                    "metadata": metadata or {},
                },
            ],
            "latest_input_channel": channel,
            "active_loop": {},
            "latest_action": {"action_name": "action_listen"},
            "latest_action_name": "action_listen",
        },
        "domain": DOMAIN,
        "version": "3.6.20",
    }


@pytest.fixture
async def known(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        emily = await create_customer(
            session, None, NewCustomer(name="Emily Carter", phones=("13800000003",), language="en")
        )
        wang = await create_customer(
            session,
            None,
            NewCustomer(name="王芳", phones=("13800000001",), telegram_id="8001", language="zh"),
        )
    return {"emily": emily.id, "wang": wang.id}


async def run(client: Client, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await client.post("/rasa/webhook", json=body, params={"token": TOKEN})
    return response.status, await response.json()


def slots_set(result: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in result["events"] if e["event"] == "slot"}


async def test_a_caller_is_identified_from_the_number_the_voice_gateway_vouches_for(
    client: Client, known: dict[str, int]
) -> None:
    status, result = await run(
        client, rasa_request("action_identify_customer", "call-1", **caller("+86 138 0000 0003"))
    )
    assert status == 200
    assert slots_set(result) == {
        "customer_id": known["emily"],
        "customer_name": "Emily Carter",
        "language": "en",
    }
    assert result["responses"][0]["text"] == "Hello, Emily Carter! How can I help you?"


async def test_a_telegram_conversation_is_identified_by_the_telegram_id(
    client: Client, known: dict[str, int]
) -> None:
    _, result = await run(client, rasa_request("action_identify_customer", "8001", channel="telegram"))
    assert slots_set(result)["customer_id"] == known["wang"]
    assert result["responses"][0]["text"] == "您好，王芳！请问有什么可以帮您？"


@pytest.mark.parametrize(
    ("who", "sender", "reply_start"),
    [
        ("emily", {"sender": "call-7", **caller("13800000003")}, "Your complaint is lodged: ticket CD-"),
        ("wang", {"sender": "8001", "channel": "telegram"}, "投诉已提交，工单号 CD-"),
    ],
)
async def test_a_complaint_lodged_through_rasa_lands_under_the_customer(
    client: Client,
    known: dict[str, int],
    sessions: async_sessionmaker[AsyncSession],
    who: str,
    sender: dict[str, Any],
    reply_start: str,
) -> None:
    body = rasa_request(
        "action_lodge_complaint",
        slots={"complaint_category": "network", "complaint_description": "no signal since Monday"},
        **sender,
    )
    status, result = await run(client, body)
    assert status == 200
    async with sessions() as session:
        complaint = (await session.execute(select(Complaint))).scalar_one()
    assert (complaint.customer_id, complaint.channel, complaint.category) == (known[who], "rasa", "network")
    assert complaint.verified is True
    assert slots_set(result)["ticket"] == complaint.ticket
    assert result["responses"][0]["text"].startswith(reply_start)
    assert complaint.ticket in result["responses"][0]["text"]

    _, status_result = await run(client, rasa_request("action_complaint_status", **sender))
    assert complaint.ticket in status_result["responses"][0]["text"]


async def test_an_unknown_sender_is_asked_for_the_phone(client: Client, known: dict[str, int]) -> None:
    _, result = await run(
        client, rasa_request("action_lodge_complaint", "web-visitor-17", metadata={"language": "en"})
    )
    assert result["responses"][0]["text"].startswith("Please tell me your phone number")
    assert slots_set(result) == {"customer_id": None}


async def test_a_rating_is_recorded_once(
    client: Client, known: dict[str, int], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        survey = await surveys.send_survey(
            session, customer_id=known["emily"], kind="csat", trigger="call", channel="phone"
        )
    _, first = await run(
        client,
        rasa_request("action_record_survey", "call-2", slots={"survey_score": "5"}, **caller("13800000003")),
    )
    assert first["responses"][0]["text"] == "Thank you for your rating!"
    _, second = await run(
        client,
        rasa_request(
            "action_record_survey",
            "call-3",
            slots={"survey_score": "2", "survey_id": float(survey.id)},  # Rasa keeps it as a float
            **caller("13800000003"),
        ),
    )
    assert second["responses"][0]["text"].startswith("You have already answered")
    async with sessions() as session:
        stored = await surveys.list_surveys(session, customer_id=known["emily"])
    assert [s.score for s in stored] == [5]


async def test_an_offer_is_suggested_from_similar_customers(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from tests.test_offers import build

    async with sessions() as session:
        await build(session)
    _, result = await run(client, rasa_request("action_suggest_offer", "call-4", **caller("13800000001")))
    assert result["responses"][0]["text"] == "根据您的使用情况，推荐您了解：Cloud Storage 200GB。"


async def test_unknown_action_is_404_and_garbage_is_400(client: Client) -> None:
    status, body = await run(client, rasa_request("action_make_coffee", "1"))
    assert status == 404
    assert body["error"] == "No registered action found for name 'action_make_coffee'."
    assert body["action_name"] == "action_make_coffee"
    broken = await client.post(
        "/rasa/webhook", data="{", headers={"Content-Type": "application/json"}, params={"token": TOKEN}
    )
    assert broken.status == 400
    no_tracker = await client.post(
        "/rasa/webhook", json={"next_action": "action_identify_customer"}, params={"token": TOKEN}
    )
    assert no_tracker.status == 400
    assert (await no_tracker.json())["action_name"] == "action_identify_customer"


async def test_a_malformed_call_gets_a_400_that_does_not_echo_what_it_was_sent(client: Client) -> None:
    response = await client.post(
        "/rasa/webhook", json={"next_action": [{"a": 1}], "tracker": {}}, params={"token": TOKEN}
    )
    assert response.status == 400
    assert "a" not in str((await response.json()).get("action_name"))


def _tracker(slots: dict[str, Any]) -> Tracker:
    return Tracker(
        "s",
        slots,
        {"metadata": {"language": "en"}},
        [],
        False,
        None,
        {"name": "complaint_form"},
        "action_listen",
    )


def _no_database() -> AsyncSession:
    raise AssertionError("this check needs no database")


SERVICES = Services(
    sessions=_no_database,
    region="CN",
    policy=ComplaintPolicy(),
    trusted_channels=frozenset(),
    inbox=InboxPolicy(load_rules(), WorkCalendar()),
    events=InProcessBus,
)


async def test_the_form_maps_words_to_categories_and_asks_for_more_detail() -> None:
    action = ValidateComplaintForm(SERVICES)
    dispatcher = CollectingDispatcher()
    assert await action.validate_complaint_category("我的网络很差", dispatcher, _tracker({}), {}) == {
        "complaint_category": "network"
    }
    assert await action.validate_complaint_category("weather", dispatcher, _tracker({}), {}) == {
        "complaint_category": None
    }
    assert dispatcher.messages[-1]["text"].startswith("Please choose one of")
    assert await action.validate_complaint_description("bad", dispatcher, _tracker({}), {}) == {
        "complaint_description": None
    }
    assert await action.validate_complaint_description(
        "  billed   twice  ", dispatcher, _tracker({}), {}
    ) == {"complaint_description": "billed twice"}


def test_every_slot_the_actions_read_or_set_is_declared() -> None:
    """The rest of Rasa's format (intents, forms, mappings, which actions are registered) is
    checked in tests/test_rasa_peers.py; the slots the actions' code names are checked here."""
    source = "\n".join(
        path.read_text(encoding="utf-8") for path in sorted((REPO_ROOT / "bot" / "actions").glob("*.py"))
    )
    used = set(re.findall(r'(?:get_slot|SlotSet)\("(\w+)"', source)) | {
        m
        for m in re.findall(r'"(complaint_\w+)"', source)
        if m in ("complaint_category", "complaint_description")
    }
    assert "customer_id" in used
    assert used <= set(DOMAIN["slots"]), used - set(DOMAIN["slots"])


def test_the_assistant_points_at_this_server_with_the_token() -> None:
    endpoints = yaml.safe_load(Path(ASSISTANT / "endpoints.yml").read_text(encoding="utf-8"))
    assert endpoints["action_endpoint"]["url"].endswith("/rasa/webhook")
    assert endpoints["action_endpoint"]["token"] == "${CONTACTDESK_RASA_TOKEN}"
