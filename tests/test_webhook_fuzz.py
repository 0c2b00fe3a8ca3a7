"""Arbitrary bodies thrown at each webhook's parser through the real app: the CTI webhook
(JSON and forms, with its token), Twilio's (forms, correctly signed and not) and Telegram's
(updates, with the right secret). Nothing is ever a server error, and Telegram always gets
its 200 (anything else, it re-delivers forever).

Hypothesis drives a synchronous test, so the app runs on an event loop of the module's own;
one backend (SQLite) is enough to find parser faults."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from yarl import URL

from callcenter.app import create_app
from callcenter.settings import Settings
from storage.db import create_engine, create_sessionmaker
from tests.conftest import empty_tables, sqlite_copy
from tests.routing_fixtures import seed
from tests.telegram_standin import BotApiStandIn, bot_api

CTI_TOKEN = "cti-fuzz"
TWILIO_TOKEN = "twilio-fuzz"
PUBLIC = "https://desk.example.com"
TELEGRAM_SECRET = "telegram-fuzz"
FORM = "application/x-www-form-urlencoded"
T = TypeVar("T")

FUZZ = settings(
    max_examples=75,
    deadline=None,
    database=None,  # nothing written into the work tree; failures print their example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class Fuzz:
    runner: asyncio.Runner
    client: TestClient[web.Request, web.Application]
    api: BotApiStandIn

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coroutine)

    def post(self, path: str, data: Any, headers: dict[str, str]) -> tuple[int, str]:
        async def send() -> tuple[int, str]:
            response = await self.client.post(path, data=data, headers=headers)
            return response.status, await response.text()

        return self.run(send())


@pytest.fixture(scope="module")
def fuzz(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    sqlite_database = sqlite_copy(sqlite_template, tmp_path_factory.mktemp("db"))
    with asyncio.Runner() as runner:
        telegram = bot_api()
        standin = runner.run(telegram.__aenter__())

        async def start() -> TestClient[web.Request, web.Application]:
            engine = create_engine(sqlite_database)
            await empty_tables(engine)
            await seed(create_sessionmaker(engine))
            await engine.dispose()
            app = create_app(
                Settings(
                    database_url=sqlite_database,
                    cti_token=CTI_TOKEN,
                    twilio_auth_token=TWILIO_TOKEN,
                    public_url=PUBLIC,
                    bot_token="123456:FUZZ",
                    telegram_api_base=standin.base_url,
                    telegram_webhook_secret=TELEGRAM_SECRET,
                    telegram_chat_interval_seconds=0.0,
                )
            )
            client = TestClient(TestServer(app))
            await client.start_server()
            return client

        client = runner.run(start())
        try:
            yield Fuzz(runner, client, standin)
        finally:
            runner.run(client.close())
            runner.run(telegram.__aexit__(None, None, None))


# Text of every kind: control characters, NUL, any plane, and (where the transport can
# carry it, in JSON escapes) lone surrogates.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
SENDABLE_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=latin-1",
        "application/json; charset=no-such-charset",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-16",
        "multipart/form-data",
        "multipart/form-data; boundary=fuzz",
        "text/plain",
        "",
        ";;",
    ]
)
CALLERS = st.sampled_from(["13800000001", "13800000666", "+8613800000003", "0", ""]) | SENDABLE_TEXT


def _json_bytes(value: Any, ascii_only: bool) -> bytes:
    # ensure_ascii escapes surrogates as \ud800; without it they become bytes no UTF-8 decoder takes.
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


CTI_EVENTS = st.fixed_dictionaries(
    {"event": st.sampled_from(["newCall", "answer", "hangup"]) | ANY_TEXT},
    optional={
        "call_id": ANY_TEXT | JSON_VALUES,
        "callId": ANY_TEXT,
        "from": CALLERS,
        "to": CALLERS,
        "direction": st.sampled_from(["in", "out"]) | ANY_TEXT,
        "agent": st.sampled_from(["agent1", "agent2"]) | ANY_TEXT,
        "duration": st.integers() | ANY_TEXT,
        "cause": ANY_TEXT,
    },
)


@FUZZ
@given(
    body=st.one_of(
        st.tuples(CTI_EVENTS | JSON_VALUES, st.booleans()).map(lambda pair: _json_bytes(*pair)),
        st.binary(max_size=200),
    ),
    content_type=CONTENT_TYPES,
)
def test_the_cti_webhook_never_answers_a_server_error_to_a_json_body(
    fuzz: Fuzz, body: bytes, content_type: str
) -> None:
    headers = {"Authorization": f"Bearer {CTI_TOKEN}", "Content-Type": content_type}
    status, text = fuzz.post("/telephony/cti", body, headers)
    assert status < 500, text


FORM_FIELDS = st.dictionaries(
    st.sampled_from(["event", "callId", "call_id", "from", "to", "direction", "user", "cause", "duration"])
    | SENDABLE_TEXT,
    st.sampled_from(["newCall", "answer", "hangup", "in", "out", "13800000001"]) | SENDABLE_TEXT,
    max_size=8,
)


@FUZZ
@given(form=FORM_FIELDS, in_url=st.booleans())
def test_the_cti_webhook_never_answers_a_server_error_to_a_form(
    fuzz: Fuzz, form: dict[str, str], in_url: bool
) -> None:
    # Zammad's PBX scripts send the token in the URL; ours send the header.
    path = f"/telephony/cti?token={CTI_TOKEN}" if in_url else "/telephony/cti"
    headers = (
        {"Content-Type": FORM} if in_url else {"Content-Type": FORM, "Authorization": f"Bearer {CTI_TOKEN}"}
    )
    status, text = fuzz.post(path, urlencode(form).encode(), headers)
    assert status < 500, text


TWILIO_PATHS = st.sampled_from(
    ["/telephony/twilio/voice", "/telephony/twilio/status", "/telephony/twilio/survey"]
) | st.builds(
    lambda survey, lang: "/telephony/twilio/survey/answer?" + urlencode({"survey": survey, "lang": lang}),
    st.sampled_from(["1", "2", "0", str(2**64), "٣"]) | SENDABLE_TEXT,
    st.sampled_from(["zh", "en"]) | SENDABLE_TEXT,
)
TWILIO_PARAMS = st.dictionaries(
    st.sampled_from(
        ["CallSid", "From", "To", "Digits", "CallStatus", "CallDuration", "QueueResult", "AgentLogin"]
    )
    | SENDABLE_TEXT,
    st.sampled_from(["CA1", "CA2", "+8613800000001", "completed", "in-progress", "bridged", "4", "agent1"])
    | SENDABLE_TEXT,
    max_size=8,
)


@FUZZ
@given(path=TWILIO_PATHS, params=TWILIO_PARAMS, sign=st.booleans())
def test_twilio_webhooks_never_answer_a_server_error_signed_or_not(
    fuzz: Fuzz, path: str, params: dict[str, str], sign: bool
) -> None:
    url = PUBLIC + str(URL(path))
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params) if sign else "forged"
    status, text = fuzz.post(
        path, urlencode(params).encode(), {"Content-Type": FORM, "X-Twilio-Signature": signature}
    )
    assert status < 500, text
    if not sign:
        assert status in (400, 403), text


@FUZZ
@given(body=st.binary(max_size=200), content_type=CONTENT_TYPES, path=TWILIO_PATHS, sign=st.booleans())
def test_twilio_webhooks_never_answer_a_server_error_to_bytes(
    fuzz: Fuzz, body: bytes, content_type: str, path: str, sign: bool
) -> None:
    url = PUBLIC + str(URL(path))
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, {}) if sign else "forged"
    status, text = fuzz.post(path, body, {"Content-Type": content_type, "X-Twilio-Signature": signature})
    assert status < 500, text


TELEGRAM_USER = st.fixed_dictionaries(
    {
        "id": st.integers(min_value=1, max_value=2**40) | st.integers(),
        "is_bot": st.booleans(),
        "first_name": ANY_TEXT,
    },
    optional={"language_code": st.sampled_from(["en", "zh-hans"]) | ANY_TEXT},
)
TELEGRAM_MESSAGE = st.fixed_dictionaries(
    {
        "message_id": st.integers(),
        "date": st.integers(),
        "chat": st.fixed_dictionaries({"id": st.integers(), "type": st.sampled_from(["private", "group"])}),
    },
    optional={
        "from": TELEGRAM_USER,
        "text": st.sampled_from(["/start", "/status", "/complaint", "/menu", "/lang", "/stop"]) | ANY_TEXT,
        "contact": st.fixed_dictionaries(
            {"phone_number": CALLERS, "first_name": ANY_TEXT}, optional={"user_id": st.integers()}
        ),
    },
)
TELEGRAM_CALLBACK = st.fixed_dictionaries(
    {
        "id": ANY_TEXT,
        "from": TELEGRAM_USER,
        "chat_instance": ANY_TEXT,
        "data": st.sampled_from(
            ["sat:1:yes", "csat:1:5", "nps:99999999999999999999:1", "offer:1:yes", "cat:billing"]
        )
        | ANY_TEXT,
    },
    optional={"message": TELEGRAM_MESSAGE},
)
TELEGRAM_UPDATES = st.one_of(
    *(
        # Mostly fresh update ids: a repeated one is (rightly) ignored before any handler runs.
        st.fixed_dictionaries({"update_id": st.integers(0, 2**62) | st.integers(), kind: event})
        for kind, event in (
            ("message", TELEGRAM_MESSAGE),
            ("edited_message", TELEGRAM_MESSAGE),
            ("callback_query", TELEGRAM_CALLBACK),
        )
    )
)


@FUZZ
@given(
    body=st.one_of(
        st.tuples(TELEGRAM_UPDATES | JSON_VALUES, st.booleans()).map(lambda pair: _json_bytes(*pair)),
        st.binary(max_size=200),
    ),
    content_type=st.sampled_from(["application/json", "text/plain", ""]),
)
def test_telegram_always_gets_its_200_for_any_update_with_the_right_secret(
    fuzz: Fuzz, body: bytes, content_type: str
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET, "Content-Type": content_type}
    status, text = fuzz.post("/telegram/webhook", body, headers)
    assert status == 200, text
