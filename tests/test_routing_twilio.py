"""Calls routed through Twilio's webhooks, signed as Twilio signs them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.request_validator import RequestValidator
from yarl import URL

from callcenter.app import create_app
from callcenter.settings import Settings
from storage.models import Contact, Survey
from tests.conftest import Staff
from tests.routing_fixtures import Callers, seed

AUTH_TOKEN = "twilio-auth-token"
PUBLIC = "https://desk.example.com"
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def twilio(settings: Settings) -> Any:
    settings = settings.model_copy(update={"twilio_auth_token": AUTH_TOKEN, "public_url": PUBLIC})
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


@pytest.fixture
async def callers(sessions: async_sessionmaker[AsyncSession], staff: Staff) -> Callers:
    return await seed(sessions)


async def post(client: Client, path: str, params: dict[str, str], *, sign: bool = True) -> tuple[int, str]:
    url = PUBLIC + str(URL(path))  # as sent: percent-encoded
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params) if sign else "forged"
    response = await client.post(path, data=params, headers={"X-Twilio-Signature": signature})
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


async def test_callers_are_enqueued_rejected_or_offered_the_menu(twilio: Client, callers: Callers) -> None:
    status, vip = await post(twilio, "/telephony/twilio/voice", voice("CA1", "+8613800000001"))
    assert status == 200
    assert ">vip</Enqueue>" in vip
    assert '<Say language="zh-CN">vip，您好' in vip

    _, preferred = await post(twilio, "/telephony/twilio/voice", voice("CA2", "013800000002"))
    assert ">general</Enqueue>" in preferred

    _, english = await post(twilio, "/telephony/twilio/voice", voice("CA3", "+86 138 0000 0003"))
    assert ">english</Enqueue>" in english
    assert '<Say language="en-US">Hello english' in english

    _, blacklisted = await post(twilio, "/telephony/twilio/voice", voice("CA4", "+8613800000666"))
    assert "<Reject" in blacklisted
    assert "Enqueue" not in blacklisted

    _, unknown = await post(twilio, "/telephony/twilio/voice", voice("CA5", "+8613999999999"))
    assert '<Gather numDigits="1"' in unknown
    assert "English service press 3" in unknown


async def test_the_ivr_choice_routes_the_same_call_and_is_stored(
    twilio: Client, callers: Callers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await post(twilio, "/telephony/twilio/voice", voice("CA6", "+8613999999999"))
    _, chosen = await post(twilio, "/telephony/twilio/voice", voice("CA6", "+8613999999999", Digits="3"))
    assert ">english</Enqueue>" in chosen
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
    assert "请按1到5" in question
    action = question.split('action="')[1].split('"')[0].replace("&amp;", "&")
    _, goodbye = await post(twilio, action, {"CallSid": "CA9", "Digits": "4"})
    assert "感谢您的来电" in goodbye
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
    status, goodbye = await post(twilio, answer + "1", {"CallSid": "CA22", "Digits": "³"})
    assert status == 200
    assert "感谢您的来电" in goodbye


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
    action = answers[0][1].split('action="')[1].split('"')[0].replace("&amp;", "&")
    assert f"survey={survey.id}" in action
