"""Calls routed through Twilio's webhooks, signed as Twilio signs them."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import MultiDict
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.request_validator import RequestValidator
from yarl import URL

from callcenter.app import create_app
from callcenter.settings import Settings
from handlers.routing.rules import load_rules
from storage.models import AgentState, Contact, Survey, User
from tests.conftest import Staff
from tests.routing_fixtures import Callers, seed
from tests.twiml import enqueue, gather_action, parse, says, task, verbs

AUTH_TOKEN = "twilio-auth-token"
PUBLIC = "https://desk.example.com"
Client = TestClient[web.Request, web.Application]


@asynccontextmanager
async def twilio_app(settings: Settings, **updates: Any) -> AsyncIterator[Client]:
    configured = settings.model_copy(
        update={"twilio_auth_token": AUTH_TOKEN, "public_url": PUBLIC, **updates}
    )
    async with TestClient(TestServer(create_app(configured))) as client:
        yield client


@pytest.fixture
async def twilio(settings: Settings) -> AsyncIterator[Client]:
    async with twilio_app(settings) as client:
        yield client


@pytest.fixture
async def callers(sessions: async_sessionmaker[AsyncSession], staff: Staff) -> Callers:
    return await seed(sessions)


async def post(
    client: Client, path: str, params: dict[str, str] | list[tuple[str, str]], *, sign: bool = True
) -> tuple[int, str]:
    """A webhook as Twilio sends it: form fields (a key may repeat), signed over all of them."""
    form = MultiDict(params)
    url = PUBLIC + str(URL(path))  # as sent: percent-encoded
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form) if sign else "forged"
    response = await client.post(path, data=list(form.items()), headers={"X-Twilio-Signature": signature})
    return response.status, await response.text()


def voice(call_sid: str, caller: str, **extra: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "From": caller,
        "To": "+862000000000",
        "Direction": "inbound",
        "CallStatus": "ringing",
        **extra,
    }


async def test_callers_are_enqueued_by_priority_band_rejected_or_offered_the_menu(
    twilio: Client, callers: Callers
) -> None:
    status, vip = await post(twilio, "/telephony/twilio/voice", voice("CA1", "+8613800000001"))
    assert status == 200
    root = parse(vip)
    assert verbs(root) == ["Say", "Enqueue"]
    assert enqueue(root).text == "vip-urgent"  # priority 100
    assert enqueue(root).attrib["action"] == "/telephony/twilio/survey"
    [greeting] = says(root)
    assert greeting.attrib == {"voice": "Polly.Zhiyu", "language": "cmn-CN"}
    assert (greeting.text or "").startswith("vip，您好")

    _, preferred = await post(twilio, "/telephony/twilio/voice", voice("CA2", "013800000002"))
    assert enqueue(parse(preferred)).text == "general-high"  # priority 50

    _, english = await post(twilio, "/telephony/twilio/voice", voice("CA3", "+86 138 0000 0003"))
    root = parse(english)
    assert enqueue(root).text == "english-normal"  # priority 40
    [greeting] = says(root)
    assert greeting.attrib == {"voice": "Polly.Joanna", "language": "en-US"}
    assert (greeting.text or "").startswith("Hello english")

    _, blacklisted = await post(twilio, "/telephony/twilio/voice", voice("CA4", "+8613800000666"))
    assert verbs(parse(blacklisted)) == ["Reject"]

    _, unknown = await post(twilio, "/telephony/twilio/voice", voice("CA5", "+8613999999999"))
    root = parse(unknown)
    assert verbs(root) == ["Gather", "Enqueue"]
    [menu] = says(root)
    assert menu.attrib == {"voice": "Polly.Zhiyu", "language": "cmn-CN"}
    assert "网络问题请按2" in (menu.text or "")
    assert enqueue(root).text == "general-low"  # priority 10, if the caller presses nothing


async def test_an_unknown_caller_from_abroad_hears_the_english_menu_every_time(
    twilio: Client, callers: Callers
) -> None:
    first = await post(twilio, "/telephony/twilio/voice", voice("CA30", "+14158675309"))
    [menu] = says(parse(first[1]))
    assert menu.attrib == {"voice": "Polly.Joanna", "language": "en-US"}
    assert (menu.text or "").startswith("Welcome to customer service")
    assert await post(twilio, "/telephony/twilio/voice", voice("CA30", "+14158675309")) == first
    _, chinese = await post(twilio, "/telephony/twilio/voice", voice("CA31", "+8613999999998"))
    assert says(parse(chinese))[0].attrib["voice"] == "Polly.Zhiyu"


async def test_the_operator_chooses_the_voice_per_language(
    settings: Settings, callers: Callers, monkeypatch: pytest.MonkeyPatch
) -> None:
    voices = {"zh": "Google.cmn-CN-Standard-A", "en": {"voice": "Polly.Amy", "language": "en-GB"}}
    monkeypatch.setenv("CONTACTDESK_TWILIO_VOICES", json.dumps(voices))
    async with twilio_app(settings, twilio_voices=Settings().twilio_voices) as client:
        _, chinese = await post(client, "/telephony/twilio/voice", voice("CA32", "+8613800000001"))
        _, english = await post(client, "/telephony/twilio/voice", voice("CA33", "+8613800000003"))
    assert says(parse(chinese))[0].attrib == {"voice": "Google.cmn-CN-Standard-A", "language": "cmn-CN"}
    assert says(parse(english))[0].attrib == {"voice": "Polly.Amy", "language": "en-GB"}


MENU_DIGIT = re.compile(r"(?:press|请按)\s*(\d)")


async def test_every_digit_the_menu_offers_reaches_a_menu_rule_and_a_queue(
    twilio: Client, callers: Callers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    offered: set[str] = set()
    for number, caller in enumerate(("+8613999999999", "+14158675309")):  # Chinese, English menu
        _, menu = await post(twilio, "/telephony/twilio/voice", voice(f"CA4{number}", caller))
        digits = set(MENU_DIGIT.findall(says(parse(menu))[0].text or ""))
        assert digits, menu
        offered |= digits
    menu_rules = {digit: rule for rule in load_rules().rules for digit in rule.when.get("ivr", ())}
    assert offered == set(menu_rules)  # no digit offered without a rule, no rule the menu hides
    for digit in sorted(offered):
        call_sid = f"CA5{digit}"
        await post(twilio, "/telephony/twilio/voice", voice(call_sid, "+8613999999997"))
        status, chosen = await post(
            twilio, "/telephony/twilio/voice", voice(call_sid, "+8613999999997", Digits=digit)
        )
        assert status == 200
        assert (enqueue(parse(chosen)).text or "").startswith(menu_rules[digit].queue + "-")
        async with sessions() as session:
            contact = (
                await session.execute(select(Contact).where(Contact.external_id == call_sid))
            ).scalar_one()
        assert (contact.reason, contact.queue) == (menu_rules[digit].name, menu_rules[digit].queue)


async def test_the_ivr_choice_routes_the_same_call_and_is_stored(
    twilio: Client, callers: Callers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await post(twilio, "/telephony/twilio/voice", voice("CA6", "+8613999999999"))
    _, chosen = await post(twilio, "/telephony/twilio/voice", voice("CA6", "+8613999999999", Digits="3"))
    assert enqueue(parse(chosen)).text == "english-normal"
    async with sessions() as session:
        contact = (await session.execute(select(Contact).where(Contact.external_id == "CA6"))).scalar_one()
    assert (contact.queue, contact.reason, contact.ivr_digits) == ("english", "menu-english", "3")


async def test_a_forged_or_missing_signature_is_refused(twilio: Client, callers: Callers) -> None:
    status, _ = await post(twilio, "/telephony/twilio/voice", voice("CA7", "+8613800000001"), sign=False)
    assert status == 403
    response = await twilio.post("/telephony/twilio/voice", data=voice("CA7", "+8613800000001"))
    assert response.status == 403


async def test_a_retried_webhook_gets_the_same_twiml(twilio: Client, callers: Callers) -> None:
    first = await post(twilio, "/telephony/twilio/voice", voice("CA8", "+8613800000002"))
    second = await post(twilio, "/telephony/twilio/voice", voice("CA8", "+8613800000002"))
    assert first == second


async def test_after_the_agent_the_caller_rates_the_call_by_keypad(
    twilio: Client, callers: Callers, sessions: async_sessionmaker[AsyncSession], staff: Staff
) -> None:
    await post(twilio, "/telephony/twilio/voice", voice("CA9", "+8613800000001"))
    _, question = await post(twilio, "/telephony/twilio/survey", {"CallSid": "CA9", "QueueResult": "bridged"})
    root = parse(question)
    assert "请按1到5" in (says(root)[0].text or "")
    assert says(root)[0].attrib["voice"] == "Polly.Zhiyu"
    _, goodbye = await post(twilio, gather_action(root), {"CallSid": "CA9", "Digits": "4"})
    root = parse(goodbye)
    assert verbs(root) == ["Say", "Hangup"]
    assert says(root)[0].text == "感谢您的来电，再见。"
    await post(
        twilio,
        "/telephony/twilio/status",
        {"CallSid": "CA9", "CallStatus": "completed", "CallDuration": "95"},
    )

    async with sessions() as session:
        survey = (await session.execute(select(Survey))).scalar_one()
        contact = (await session.execute(select(Contact).where(Contact.external_id == "CA9"))).scalar_one()
    assert (survey.kind, survey.score, survey.channel, survey.contact_id) == ("csat", 4, "phone", contact.id)
    assert contact.duration_seconds == 95
    assert contact.ended_at is not None


async def test_a_caller_who_hung_up_in_the_queue_is_not_surveyed(twilio: Client, callers: Callers) -> None:
    await post(twilio, "/telephony/twilio/voice", voice("CA10", "+8613800000002"))
    _, answer = await post(twilio, "/telephony/twilio/survey", {"CallSid": "CA10", "QueueResult": "hangup"})
    assert "Gather" not in answer


async def test_without_a_callsid_twilio_gets_a_400(twilio: Client, callers: Callers) -> None:
    status, body = await post(twilio, "/telephony/twilio/voice", {"From": "+8613800000001"})
    assert status == 400
    assert "CallSid" in body


TWILIO_ROUTES = (
    "/telephony/twilio/voice",
    "/telephony/twilio/status",
    "/telephony/twilio/survey",
    "/telephony/twilio/survey/answer?survey=1&lang=zh",
)


async def test_without_an_auth_token_every_twilio_route_refuses_even_a_well_formed_call(
    client: Client, callers: Callers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for path in TWILIO_ROUTES:
        response = await client.post(path, data=voice("CA20", "+8613800000001"))
        assert response.status == 403, path
        assert (await response.json())["error"] == "twilio-disabled"
    async with sessions() as session:
        assert (await session.execute(select(Contact))).first() is None  # no agent was made busy


def test_serve_warns_at_start_when_twilio_has_no_auth_token(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    create_app(settings.model_copy(update={"twilio_auth_token": None}))
    assert "no CONTACTDESK_TWILIO_AUTH_TOKEN" in caplog.text
    caplog.clear()
    create_app(settings.model_copy(update={"twilio_auth_token": AUTH_TOKEN}))
    assert "CONTACTDESK_TWILIO_AUTH_TOKEN" not in caplog.text


MALFORMED = (
    ("multipart/form-data", b"CallSid=CA21"),
    ("multipart/form-data; boundary=xyz", b"garbage"),
    (
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="F"\r\n\r\n\xff\r\n--xyz--',
    ),
    ("application/x-www-form-urlencoded", b"CallSid=CA21&From=\xff\xfe"),
    ("application/x-www-form-urlencoded; charset=no-such-charset", b"CallSid=CA21"),
    ("application/x-www-form-urlencoded", b"CallSid=CA21&From=%00"),
    ("text/plain", b"CallSid=CA21"),
    ("application/json", b'{"CallSid": "CA21"}'),
    ("", b"\x00\x01\x02"),
)


@pytest.mark.parametrize(("content_type", "raw"), MALFORMED)
async def test_a_malformed_body_or_content_type_is_a_400_or_403_signed_or_not(
    twilio: Client, callers: Callers, content_type: str, raw: bytes
) -> None:
    for path in TWILIO_ROUTES:
        for signature in ("forged", RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + path, {})):
            response = await twilio.post(
                path, data=raw, headers={"Content-Type": content_type, "X-Twilio-Signature": signature}
            )
            assert response.status in (400, 403), (path, response.status, await response.text())
            assert "error" in await response.json()


async def test_a_call_sid_or_digits_a_database_cannot_hold_are_refused_or_ignored(
    twilio: Client, callers: Callers
) -> None:
    status, body = await post(twilio, "/telephony/twilio/voice", voice("CA" + "9" * 500, "+8613800000001"))
    assert status == 400
    assert "CallSid" in body
    await post(twilio, "/telephony/twilio/voice", voice("CA22", "+8613800000001"))
    ended = {"CallSid": "CA22", "CallStatus": "completed", "CallDuration": "³" * 3}
    assert (await post(twilio, "/telephony/twilio/status", ended))[0] == 200
    answer = "/telephony/twilio/survey/answer?survey="
    for bad_survey in ("٣", str(2**64)):
        assert (await post(twilio, answer + bad_survey, {"CallSid": "CA22", "Digits": "4"}))[0] == 400
    status, asked_again = await post(twilio, answer + "1", {"CallSid": "CA22", "Digits": "³"})
    assert status == 200
    assert verbs(parse(asked_again)) == ["Gather", "Say", "Hangup"]


async def test_a_repeated_post_call_survey_callback_asks_the_same_survey(
    twilio: Client, callers: Callers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await post(twilio, "/telephony/twilio/voice", voice("CA23", "+8613800000001"))
    callback = {"CallSid": "CA23", "QueueResult": "bridged"}
    answers = await asyncio.gather(*(post(twilio, "/telephony/twilio/survey", callback) for _ in range(4)))
    answers.append(await post(twilio, "/telephony/twilio/survey", callback))
    assert {status for status, _ in answers} == {200}
    assert len({twiml for _, twiml in answers}) == 1  # the same question, the same survey id
    async with sessions() as session:
        [survey] = (await session.execute(select(Survey))).scalars().all()
    assert survey.external_ref == "twilio:CA23"
    action = gather_action(parse(answers[0][1]))
    assert f"survey={survey.id}" in action


async def test_a_key_that_is_no_score_asks_again_once_then_thanks_and_hangs_up(
    twilio: Client, callers: Callers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await post(twilio, "/telephony/twilio/voice", voice("CA60", "+8613800000003"))  # English
    _, question = await post(
        twilio, "/telephony/twilio/survey", {"CallSid": "CA60", "QueueResult": "bridged"}
    )
    first_ask = parse(question)
    _, again = await post(twilio, gather_action(first_ask), {"CallSid": "CA60", "Digits": "9"})
    second_ask = parse(again)
    assert verbs(second_ask) == ["Gather", "Say", "Hangup"]
    assert says(second_ask)[0].text == says(first_ask)[0].text
    assert says(second_ask)[0].attrib["voice"] == "Polly.Joanna"
    _, goodbye = await post(twilio, gather_action(second_ask), {"CallSid": "CA60", "Digits": "0"})
    root = parse(goodbye)
    assert verbs(root) == ["Say", "Hangup"]
    assert says(root)[0].text == "Thank you for calling. Goodbye."
    async with sessions() as session:
        survey = (await session.execute(select(Survey))).scalar_one()
    assert survey.score is None


async def test_a_valid_score_after_one_wrong_key_is_recorded(
    twilio: Client, callers: Callers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await post(twilio, "/telephony/twilio/voice", voice("CA61", "+8613800000001"))
    _, question = await post(
        twilio, "/telephony/twilio/survey", {"CallSid": "CA61", "QueueResult": "bridged"}
    )
    _, again = await post(twilio, gather_action(parse(question)), {"CallSid": "CA61", "Digits": "7"})
    _, goodbye = await post(twilio, gather_action(parse(again)), {"CallSid": "CA61", "Digits": "5"})
    assert verbs(parse(goodbye)) == ["Say", "Hangup"]
    async with sessions() as session:
        survey = (await session.execute(select(Survey))).scalar_one()
    assert survey.score == 5


WORKFLOW = "WW0123456789abcdef0123456789abcdef"


async def test_with_a_taskrouter_workflow_the_call_is_a_task_carrying_its_priority(
    settings: Settings, callers: Callers
) -> None:
    async with twilio_app(settings, twilio_workflow_sid=WORKFLOW) as client:
        _, vip = await post(client, "/telephony/twilio/voice", voice("CA70", "+8613800000001"))
        _, unknown = await post(client, "/telephony/twilio/voice", voice("CA71", "+14158675309"))
    root = parse(vip)
    assert enqueue(root).attrib["workflowSid"] == WORKFLOW
    assert enqueue(root).attrib["action"] == "/telephony/twilio/survey"
    attributes, element = task(root)
    assert element.attrib["priority"] == "100"
    assert attributes == {
        "queue": "vip",
        "tier": "vip",
        "priority": 100,
        "customer_id": callers.vip,
        "language": "zh",
        "skills": ["vip"],
        "reason": "vip",
    }
    attributes, element = task(parse(unknown))  # the menu's fallback, if nothing is pressed
    assert (attributes["tier"], attributes["customer_id"], attributes["language"]) == (None, None, "en")
    assert element.attrib["priority"] == "10"


async def set_endpoints(
    sessions: async_sessionmaker[AsyncSession],
    login: str,
    *,
    client: str | None = None,
    phone: str | None = None,
) -> None:
    async with sessions() as session:
        await session.execute(
            update(User).where(User.login == login).values(twilio_client=client, phone=phone)
        )
        await session.commit()


async def agent_load(sessions: async_sessionmaker[AsyncSession], login: str) -> tuple[str, int]:
    async with sessions() as session:
        state = (
            await session.execute(
                select(AgentState).join(User, User.id == AgentState.user_id).where(User.login == login)
            )
        ).scalar_one()
        return state.state, state.active_contacts


def dialled(text: str) -> tuple[dict[str, str], list[tuple[str, str | None]]]:
    root = parse(text)
    assert verbs(root) == ["Say", "Dial"]
    dial = root.find("Dial")
    assert dial is not None
    for target in dial:  # the agent's leg reports when they pick up
        assert (target.attrib["statusCallbackEvent"], target.attrib["statusCallback"]) == (
            "answered",
            "/telephony/twilio/status",
        )
    return dial.attrib, [(child.tag, child.text) for child in dial]


async def test_an_agent_with_a_twilio_client_is_rung_first_and_a_missed_ring_falls_back_to_the_queue_once(
    settings: Settings, callers: Callers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await set_endpoints(sessions, "agent1", client="agent1-browser")
    async with twilio_app(settings, twilio_dial_timeout_seconds=15) as client:
        _, vip = await post(client, "/telephony/twilio/voice", voice("CA80", "+8613800000001"))
        attributes, targets = dialled(vip)
        assert attributes == {"action": "/telephony/twilio/dial", "method": "POST", "timeout": "15"}
        assert targets == [("Client", "agent1-browser")]
        assert await agent_load(sessions, "agent1") == ("busy", 1)
        assert (
            await post(
                client,
                "/telephony/twilio/dial",
                {"CallSid": "CA80", "DialCallStatus": "no-answer"},
                sign=False,
            )
        )[0] == 403

        missed = {"CallSid": "CA80", "DialCallStatus": "no-answer", "DialCallDuration": "0"}
        status, queued = await post(client, "/telephony/twilio/dial", missed)
        assert status == 200
        assert verbs(parse(queued)) == ["Enqueue"]
        assert enqueue(parse(queued)).text == "vip-urgent"
        assert await agent_load(sessions, "agent1") == ("available", 0)

        # agent1 takes another call; Twilio repeating the first report must not free them.
        _, other = await post(client, "/telephony/twilio/voice", voice("CA81", "+8613800000001"))
        assert dialled(other)[1] == [("Client", "agent1-browser")]
        assert await post(client, "/telephony/twilio/dial", missed) == (200, queued)
        assert await agent_load(sessions, "agent1") == ("busy", 1)
        # A retried voice webhook for the first call no longer rings agent1.
        _, retried = await post(client, "/telephony/twilio/voice", voice("CA80", "+8613800000001"))
        assert verbs(parse(retried)) == ["Say", "Enqueue"]
    async with sessions() as session:
        contact = (await session.execute(select(Contact).where(Contact.external_id == "CA80"))).scalar_one()
    assert (contact.agent_id, contact.queue) == (None, "vip")


async def test_an_agent_with_only_a_phone_is_dialled_there_and_after_talking_the_caller_is_surveyed(
    twilio: Client, callers: Callers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await set_endpoints(sessions, "agent2", phone="+8613911112222")
    _, regular = await post(twilio, "/telephony/twilio/voice", voice("CA82", "+8613800000004"))
    assert verbs(parse(regular)) == ["Say", "Enqueue"]  # agent1, longest idle, has no endpoint
    _, preferred = await post(twilio, "/telephony/twilio/voice", voice("CA83", "+8613800000002"))
    attributes, targets = dialled(preferred)
    assert attributes["timeout"] == "20"
    assert targets == [("Number", "+8613911112222")]
    agent_leg = {"CallSid": "CA83-agent", "ParentCallSid": "CA83"}
    await post(twilio, "/telephony/twilio/status", {**agent_leg, "CallStatus": "in-progress"})
    await post(
        twilio, "/telephony/twilio/status", {**agent_leg, "CallStatus": "completed", "CallDuration": "9"}
    )
    status, question = await post(
        twilio, "/telephony/twilio/dial", {"CallSid": "CA83", "DialCallStatus": "completed"}
    )
    assert status == 200
    assert "请按1到5" in (says(parse(question))[0].text or "")
    async with sessions() as session:
        survey = (await session.execute(select(Survey))).scalar_one()
        contact = (await session.execute(select(Contact).where(Contact.external_id == "CA83"))).scalar_one()
    assert (survey.contact_id, survey.agent_id) == (contact.id, contact.agent_id)
    assert contact.answered_at is not None  # when agent2 picked up
    assert contact.ended_at is None  # the agent's leg ending is not the caller's call ending


@pytest.mark.parametrize("outcome", ["busy", "failed"])
async def test_a_busy_or_unreachable_agent_sends_the_caller_to_the_queue(
    twilio: Client, callers: Callers, sessions: async_sessionmaker[AsyncSession], outcome: str
) -> None:
    await set_endpoints(sessions, "agent1", client="agent1-browser")
    await post(twilio, "/telephony/twilio/voice", voice("CA84", "+8613800000005"))  # open complaint
    _, queued = await post(twilio, "/telephony/twilio/dial", {"CallSid": "CA84", "DialCallStatus": outcome})
    assert enqueue(parse(queued)).text == "complaints-urgent"
    assert await agent_load(sessions, "agent1") == ("available", 0)


async def test_a_late_missed_ring_report_after_the_caller_hung_up_frees_nobody(
    twilio: Client, callers: Callers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await set_endpoints(sessions, "agent1", client="agent1-browser")
    await post(twilio, "/telephony/twilio/voice", voice("CA90", "+8613800000001"))
    await post(
        twilio,
        "/telephony/twilio/status",
        {"CallSid": "CA90", "CallStatus": "completed", "CallDuration": "4"},
    )
    assert await agent_load(sessions, "agent1") == ("available", 0)
    _, next_call = await post(twilio, "/telephony/twilio/voice", voice("CA91", "+8613800000001"))
    assert dialled(next_call)[1] == [("Client", "agent1-browser")]
    status, answer = await post(
        twilio, "/telephony/twilio/dial", {"CallSid": "CA90", "DialCallStatus": "no-answer"}
    )
    assert (status, verbs(parse(answer))) == (200, [])  # the call is over: nothing to do
    assert await agent_load(sessions, "agent1") == ("busy", 1)  # still ringing for CA91
