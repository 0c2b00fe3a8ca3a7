"""Rasa spoken as Rasa speaks it: the shipped assistant checked against Rasa 3's file format
(tests/peers/rasa_format.py, rebuilt from Rasa's validator and schemas), and rasa-sdk's own
endpoint tests (tests/peers/rasa_sdk_endpoint.py) replayed over HTTP against
`contactdesk rasa-actions`, the action server an integrator points Rasa at."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from callcenter.bootstrap import Bootstrap
from callcenter.rasa_server import create_actions_app
from callcenter.rasa_webhook import EXECUTOR
from callcenter.settings import Settings
from storage.models import Complaint
from tests.peers import rasa_sdk_endpoint as peer
from tests.peers.rasa_format import check_assistant
from tests.test_rasa_actions import ASSISTANT, DOMAIN, TOKEN, rasa_request, rasa_settings

Client = TestClient[web.Request, web.Application]


def registered_actions() -> set[str]:
    """The custom actions `contactdesk rasa-actions` registers with rasa-sdk's executor."""
    app = create_actions_app(Bootstrap(rasa_settings("sqlite+aiosqlite:///:memory:")))
    return set(app[EXECUTOR].actions)


# --- the assistant in Rasa 3's format ------------------------------------------------------


def test_the_shipped_assistant_is_a_valid_rasa_3_assistant_for_this_action_server() -> None:
    report = check_assistant(ASSISTANT, registered_actions())
    assert report.errors == []
    # What Rasa would still warn about, each on purpose: yes/no are examples of their own
    # so the classifier does not read them as another intent, and validate_complaint_form
    # asks an unverified sender for the number (utter_ask_phone) outside required_slots.
    assert sorted(report.warnings) == [
        "intent 'affirm' is not used in any story or rule",
        "intent 'deny' is not used in any story or rule",
        "utterance 'utter_ask_phone' is not used in any story or rule",
    ]


def _set(path: list[Any], value: Any) -> Callable[[Any], None]:
    def edit(document: Any) -> None:
        for key in path[:-1]:
            document = document[key]
        document[path[-1]] = value

    return edit


def _append(path: list[Any], value: Any) -> Callable[[Any], None]:
    def edit(document: Any) -> None:
        for key in path:
            document = document[key]
        document.append(value)

    return edit


# One fault each, in a copy of the shipped assistant: the first two are the cases of Rasa's
# own tests/test_validator.py (test_verify_form_slots_invalid_domain and the undeclared action
# of test_verify_actions_in_stories_not_in_domain); the rest follow SlotMapping.validate,
# Validator.verify_slot_mappings and the schemas.
MUTANTS = [
    (
        "domain.yml",
        _set(["forms", "complaint_form", "required_slots"], ["complaint_category", "complaint_descriptio"]),
        "the form slot 'complaint_descriptio' is not present in the domain slots",
    ),
    (
        "data/rules.yml",
        _append(["rules"], {"rule": "path 1", "steps": [{"intent": "greet"}, {"action": "action_test_2"}]}),
        "action 'action_test_2' is not listed in the domain",
    ),
    ("domain.yml", _set(["version"], "2.0"), "version is '2.0'"),
    ("domain.yml", _set(["version"], 3.1), "version is 3.1"),
    (
        "domain.yml",
        _set(["slots", "phone", "mappings"], [{"type": "from_entity"}]),
        "a from_entity mapping needs 'entity'",
    ),
    (
        "domain.yml",
        _set(["slots", "phone", "mappings"], [{"type": "from_intent", "intent": "give_phone"}]),
        "a from_intent mapping needs 'value'",
    ),
    (
        "domain.yml",
        _set(["slots", "phone", "mappings"], [{"type": "from_llm"}]),
        "invalid slot mapping of type 'from_llm'",
    ),
    (
        "domain.yml",
        _set(["slots", "phone", "mappings"], [{"type": "from_entity", "entity": "mobile"}]),
        "undeclared entity 'mobile'",
    ),
    (
        "domain.yml",
        _set(
            ["slots", "complaint_description", "mappings", 0, "conditions", 0, "active_loop"],
            "complaints_form",
        ),
        "form 'complaints_form', not in domain forms",
    ),
    (
        "domain.yml",
        _set(["slots", "phone", "mappings", 0, "conditions"], [{"active_loop": "complaint_form"}]),
        "slot phone: mapping condition for form 'complaint_form', not in its required_slots",
    ),
    ("domain.yml", _set(["slots", "language", "type"], "enum"), "unknown type 'enum'"),
    (
        "data/rules.yml",
        _set(["rules", 7, "steps", 1, "action"], "utter_bye"),
        "'utter_bye' is not a valid utterance",
    ),
    (
        "data/rules.yml",
        _set(["rules", 2, "steps", 2, "active_loop"], "complaint"),
        "the form 'complaint' is not listed",
    ),
    (
        "data/stories.yml",
        _set(["stories", 1, "steps", 2, "intent"], "rate"),
        "intent 'rate' is not listed in the domain",
    ),
    (
        "data/stories.yml",
        _set(["stories", 1, "steps", 2, "entities"], [{"score": "5"}]),
        "entity 'score' is not listed in the domain",
    ),
    (
        "data/stories.yml",
        _set(["stories", 0, "steps", 5, "slot_was_set"], [{"requested": "complaint_category"}]),
        "slot 'requested' is not listed in the domain",
    ),
    ("data/rules.yml", _set(["rules", 0, "steps", 0], {"intent": "greet", "action": "x"}), "is not one of"),
    ("data/nlu.yml", _set(["nlu", 0, "intent"], "hello"), "intent 'hello', which the domain does not list"),
    (
        "data/nlu.yml",
        _set(["nlu", 1, "examples"], "- my number is [1380000](mobile)\n"),
        "undeclared entity 'mobile'",
    ),
    ("data/nlu.yml", _set(["nlu", 2, "examples"], "- hello\n"), "example 'hello' is labelled with"),
    (
        "domain.yml",
        _append(["actions"], "action_make_coffee"),
        "'action_make_coffee' is in the domain but the action server does not register it",
    ),
    (
        "domain.yml",
        _set(["actions"], ["action_identify_customer"]),
        "'action_lodge_complaint' is registered but the domain does not list it",
    ),
]


@pytest.mark.parametrize(("file", "edit", "error"), MUTANTS, ids=[m[2][:40] for m in MUTANTS])
def test_an_assistant_with_one_fault_is_refused_as_rasa_refuses_it(
    tmp_path: Path, file: str, edit: Callable[[Any], None], error: str
) -> None:
    copy = tmp_path / "assistant"
    shutil.copytree(ASSISTANT, copy)
    document = yaml.safe_load((copy / file).read_text(encoding="utf-8"))
    edit(document)
    (copy / file).write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    errors = check_assistant(copy, registered_actions()).errors
    assert any(error in e for e in errors), errors


# --- rasa-sdk's endpoint tests against our action server ---------------------------------


@pytest.fixture
def settings(database_url: str, engine: AsyncEngine) -> Settings:
    return rasa_settings(database_url)


@pytest.fixture
async def actions(settings: Settings) -> AsyncIterator[Client]:
    """`contactdesk rasa-actions` on a local port, spoken to over HTTP."""
    async with TestClient(TestServer(create_actions_app(Bootstrap(settings)))) as client:
        yield client


async def post(client: Client, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"data": body, "headers": headers} if isinstance(body, bytes) else {"json": body}
    response = await client.post("/rasa/webhook", params={"token": TOKEN}, **kwargs)
    return response.status, await response.json()


async def test_an_unknown_action_is_404_with_rasa_sdks_error(actions: Client) -> None:
    status, body = await post(actions, peer.action_call("non_existing_action"))
    assert status == peer.STATUS_FOR["ActionNotFoundException"]
    assert body["error"] == peer.NOT_FOUND_MESSAGE.format(action="non_existing_action")
    assert body["action_name"] == "non_existing_action"


@pytest.mark.parametrize(
    "action",
    [
        "action_identify_customer",
        "action_lodge_complaint",
        "action_complaint_status",
        "action_record_survey",
        "action_suggest_offer",
        "validate_complaint_form",
    ],
)
async def test_every_action_runs_on_rasa_sdks_bare_tracker(actions: Client, action: str) -> None:
    """rasa-sdk's 200 test, for each of our actions: a tracker with only a sender, from no
    channel, so nobody vouches for it and nothing of any record is told. A form's validation
    reads the form from the domain, so it gets the shipped one; with rasa-sdk's empty domain
    it is a 400 (rasa-sdk's own server crashes into a 500)."""
    if action == "validate_complaint_form":
        status, body = await post(actions, peer.action_call(action, domain={}))
        assert status == 400
        assert body["action_name"] == action
    status, body = await post(
        actions, peer.action_call(action, domain=DOMAIN if action.startswith("validate_") else {})
    )
    assert status == 200, body
    assert set(body) == {"events", "responses"}
    assert all(event["event"] in ("slot", "active_loop") for event in body["events"])
    if action.startswith("action_") and action != "action_lodge_complaint":
        assert {"event": "slot", "name": "customer_id", "value": None} in [
            {k: e[k] for k in ("event", "name", "value")} for e in body["events"]
        ]


async def test_a_deflated_action_call_is_read_as_rasa_sdk_reads_it(actions: Client) -> None:
    body, headers = peer.deflated(
        peer.action_call("action_identify_customer", domain={"intents": ["greet", "goodbye"]})
    )
    status, answer = await post(actions, body, headers)
    assert status == 200
    assert answer["responses"][0]["text"].startswith("为保护您的隐私")


async def test_a_call_without_domain_is_449_until_rasa_sends_it_then_its_digest_is_enough(
    actions: Client,
) -> None:
    call = peer.action_call("action_identify_customer")
    status, body = await post(actions, call | {"domain_digest": "d1"})
    assert status == peer.STATUS_FOR["ActionMissingDomainException"]
    assert body == {**body, "error": peer.MISSING_DOMAIN_MESSAGE, "action_name": "action_identify_customer"}
    assert (await post(actions, call | {"domain": {"intents": ["greet"]}, "domain_digest": "d1"}))[0] == 200
    assert (await post(actions, call | {"domain_digest": "d1"}))[0] == 200
    assert (await post(actions, call | {"domain_digest": "d2"}))[0] == 449


def _in_the_complaint_form(intent: str, text: str) -> dict[str, Any]:
    call = rasa_request("validate_complaint_form", "web-visitor-1", text=text)
    call["tracker"]["latest_message"]["intent"] = {"name": intent, "confidence": 0.98}
    call["tracker"]["events"][-1]["parse_data"] = call["tracker"]["latest_message"]
    call["tracker"]["active_loop"] = {"name": "complaint_form"}
    call["tracker"]["slots"]["requested_slot"] = "complaint_category"
    # What Rasa's form extracted with its from_text mapping, for the action to validate.
    call["tracker"]["slots"]["complaint_category"] = text
    call["tracker"]["events"].append({"event": "slot", "name": "complaint_category", "value": text})
    return call


async def test_a_goodbye_inside_the_form_is_rejected_with_rasa_sdks_400(
    actions: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Rasa reads a 400's `action_name` and `error` into ActionExecutionRejection and lets its
    rules answer (the goodbye rule ends the form); "bye" is never a complaint's category."""
    status, body = await post(actions, _in_the_complaint_form("goodbye", "再见"))
    assert status == peer.STATUS_FOR["ActionExecutionRejection"]
    assert body["action_name"] == "validate_complaint_form"
    assert body["error"] == "'goodbye' leaves the complaint form"
    answered = await post(actions, _in_the_complaint_form("inform", "我的网络很差"))
    assert answered[0] == 200, answered
    validated = {e["name"]: e["value"] for e in answered[1]["events"] if e["event"] == "slot"}
    assert validated["complaint_category"] == "network"
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Complaint)) == 0
