"""Questionnaires as customers answer them on Telegram and as supervisors read them: a real
app, the Bot API stand-in, updates in Telegram's JSON through the webhook."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.settings import Settings
from handlers import questionnaires, surveys
from handlers.customers import NewCustomer, create_customer
from handlers.questionnaires import Given
from storage.models import Survey, SurveyAnswer
from tests.conftest import Staff
from tests.inbox_fixtures import Client, bot_app, drain
from tests.telegram_standin import BotApiStandIn, bot_api
from tests.test_routing_twilio import post, twilio_app
from tests.test_telegram_bot import EMILY, WANG, Chat
from tests.twiml import gather_action, parse, says

THREE = {
    "title": {"en": "After your repair", "zh": "维修回访"},
    "questions": [
        {"kind": "scale5", "text": {"en": "How was the engineer?", "zh": "您对维修人员满意吗？"}},
        {"kind": "text", "text": {"en": "What could we do better?", "zh": "我们还能改进什么？"}},
        {"kind": "scale10", "text": {"en": "Would you recommend us?", "zh": "您会推荐我们吗？"}},
    ],
}
_ids = itertools.count(900_000)


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[tuple[Client, BotApiStandIn]]:
    async with bot_api() as api, bot_app(settings, api) as client:
        yield client, api


@pytest.fixture
async def people(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        emily = await create_customer(
            session, None, NewCustomer(name="Emily Carter", phones=("13800000003",), language="en")
        )
        wang = await create_customer(
            session, None, NewCustomer(name="王芳", phones=("13800000001",), language="zh")
        )
    return {"emily": emily.id, "wang": wang.id}


async def define(client: Client, staff: Staff, body: dict[str, Any] = THREE) -> dict[str, Any]:
    response = await client.post("/api/v1/questionnaires", json=body, headers=staff.supervisor)
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def send(
    client: Client, staff: Staff, customer_id: int, questionnaire_id: int, channel: str = "telegram"
) -> int:
    response = await client.post(
        "/api/v1/surveys",
        json={
            "customer_id": customer_id,
            "kind": "quest",
            "questionnaire_id": questionnaire_id,
            "channel": channel,
        },
        headers=staff.supervisor,
    )
    assert response.status == 201, await response.text()
    return int((await response.json())["id"])


def buttons(api: BotApiStandIn) -> list[str]:
    """The callback data of the last message's buttons."""
    rows = api.sent()[-1].markup.get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row]


async def answers(
    sessions: async_sessionmaker[AsyncSession], survey_id: int
) -> list[tuple[int | None, str | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(SurveyAnswer.value, SurveyAnswer.text)
            .where(SurveyAnswer.survey_id == survey_id)
            .order_by(SurveyAnswer.id)
        )
        return [(r[0], r[1]) for r in rows]


async def invited(
    client: Client, staff: Staff, chat: Chat, phone: str, customer_id: int
) -> tuple[int, list[int]]:
    """The customer links their chat and is sent the three questions: (survey, question ids)."""
    await chat.share(phone)
    questionnaire = await define(client, staff)
    survey = await send(client, staff, customer_id, questionnaire["id"])
    assert await drain(client) == {"sent": 1}
    return survey, [q["id"] for q in questionnaire["questions"]]


async def test_answer_two_of_three_stop_resume_on_the_next_message_and_finish(
    bot: tuple[Client, BotApiStandIn],
    people: dict[str, int],
    staff: Staff,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    client, api = bot
    emily = Chat(client, api, EMILY, "en", "Emily")
    survey, (q1, q2, q3) = await invited(client, staff, emily, "13800000003", people["emily"])
    invitation = api.sent()[-1]
    assert invitation.text.startswith("We would value your opinion")
    assert buttons(api) == [f"qstart:{survey}"]

    [first] = await emily.press(f"qstart:{survey}")
    assert first.startswith("Question 1 of 3: How was the engineer?")
    assert buttons(api) == [f"qa:{survey}:{q1}:{v}" for v in range(1, 6)]
    # A value no button offers (a forged or stale button): told politely, asked again.
    sorry, again = await emily.press(f"qa:{survey}:{q1}:9")
    assert sorry.startswith(
        "Sorry, that is not one of the answers to this question: please choose from 1 to 5."
    )
    assert again.startswith("Question 1 of 3")
    [second] = await emily.press(f"qa:{survey}:{q1}:4")
    assert second.startswith("Question 2 of 3: What could we do better?")
    assert buttons(api) == [f"qa:{survey}:{q2}:-1"]  # Skip
    # The free-text answer, delivered twice by Telegram: handled once.
    update_id = next(_ids)
    [third] = await emily.say("Come on time, please", update_id=update_id)
    assert third.startswith("Question 3 of 3: Would you recommend us?")
    assert await emily.say("Come on time, please", update_id=update_id) == []
    assert await answers(sessions, survey) == [(4, None), (None, "Come on time, please")]

    # She stops here. Her next message, whatever it says, carries on where she left off.
    welcome, asked = await emily.say("hello?")
    assert welcome.startswith("Welcome back!")
    assert asked.startswith("Question 3 of 3")
    assert buttons(api) == [f"qa:{survey}:{q3}:{v}" for v in range(11)]
    # A typed number out of the 0–10 range loses nothing.
    sorry, asked = await emily.say("12")
    assert "from 0 to 10" in sorry
    assert await answers(sessions, survey) == [(4, None), (None, "Come on time, please")]
    [done] = await emily.press(f"qa:{survey}:{q3}:9")
    assert done.startswith("Thank you! That was the last question")
    assert await answers(sessions, survey) == [(4, None), (None, "Come on time, please"), (9, None)]
    async with sessions() as session:
        answered_at = (
            await session.execute(select(Survey.answered_at).where(Survey.id == survey))
        ).scalar_one()
    assert answered_at is not None
    # Pressing an old button again changes nothing.
    already, thanks = await emily.press(f"qa:{survey}:{q1}:1")
    assert already.startswith("That question already has your answer")
    assert thanks.startswith("Thank you!")
    assert await answers(sessions, survey) == [(4, None), (None, "Come on time, please"), (9, None)]
    # Finished: her messages go back to the assistant, not to the survey.
    assert all("Question" not in text for text in await emily.say("/survey"))


async def test_the_survey_command_resumes_in_chinese(
    bot: tuple[Client, BotApiStandIn],
    people: dict[str, int],
    staff: Staff,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    client, api = bot
    wang = Chat(client, api, WANG, "zh-hans", "芳")
    survey, (q1, q2, q3) = await invited(client, staff, wang, "13800000001", people["wang"])
    assert api.sent()[-1].text.startswith("诚邀您参加一份简短的满意度问卷")
    assert [b["text"] for row in api.sent()[-1].markup["inline_keyboard"] for b in row] == ["开始"]
    [first] = await wang.press(f"qstart:{survey}")
    assert first.startswith("第 1 题（共 3 题）：您对维修人员满意吗？")
    await wang.press(f"qa:{survey}:{q1}:5")
    [skipped] = await wang.press(f"qa:{survey}:{q2}:-1")  # skips the free text
    assert skipped.startswith("第 3 题")
    welcome, asked = await wang.say("/survey resume")
    assert welcome.startswith("欢迎回来")
    assert asked.startswith("第 3 题（共 3 题）：您会推荐我们吗？")
    sorry, _ = await wang.press(f"qa:{survey}:{q3}:42")
    assert sorry.startswith("抱歉，这不是本题的有效答案，请在 0 到 10 之间选择。")
    [done] = await wang.press(f"qa:{survey}:{q3}:10")
    assert done.startswith("感谢您完成问卷")
    assert await answers(sessions, survey) == [(5, None), (None, None), (10, None)]
    [none] = await wang.say("/survey")
    assert none == "目前没有需要您作答的问卷。"


async def answer_all(
    sessions: async_sessionmaker[AsyncSession], survey_id: int, given: list[Given | None], channel: str
) -> None:
    """Answers as a channel records them, question by question (None: not reached)."""
    async with sessions() as session:
        found = await questionnaires.progress(session, survey_id)
        for question, item in zip(found.questionnaire.questions, given, strict=False):
            if item is not None:
                await questionnaires.answer(session, survey_id, question.id, item, channel=channel)


@pytest.fixture
async def yearly_answered(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> dict[str, Any]:
    """The shipped yearly survey, answered by three customers of known tier, region and channel."""
    response = await client.get("/api/v1/questionnaires", headers=staff.supervisor)
    assert response.status == 200
    [yearly] = [q for q in (await response.json())["questionnaires"] if q["key"] == "yearly"]
    assert [q["kind"] for q in yearly["questions"]] == ["scale5", "scale5", "scale10", "choice", "text"]
    people = (
        (
            "Ann",
            "13800000011",
            "vip",
            "north",
            "telegram",
            [Given(value=5), Given(value=4), Given(value=10), Given(value=1), Given(text="great")],
        ),
        (
            "Bo",
            "13800000012",
            "vip",
            "south",
            "ivr",
            [Given(value=3), Given(value=2), Given(value=6), Given(value=2), Given(skip=True)],
        ),
        (
            "Cy",
            "13800000013",
            "regular",
            "north",
            "agent",
            [Given(value=2), Given(skip=True), Given(value=8), None, None],
        ),
    )
    async with sessions() as session:
        for name, phone, tier, region, channel, given in people:
            customer = await create_customer(
                session, None, NewCustomer(name=name, phones=(phone,), tier=tier, region=region)
            )
            survey = await surveys.send_survey(
                session,
                customer_id=customer.id,
                kind="quest",
                trigger="periodic",
                channel="api",
                questionnaire_id=yearly["id"],
            )
            await answer_all(sessions, survey.id, given, channel)
    return yearly


def segment(found: dict[str, Any], dimension: str, name: str, position: int) -> dict[str, Any]:
    [row] = [r for r in found["segments"][dimension] if r["segment"] == name]
    [figures] = [q for q in row["questions"] if q["position"] == position]
    return dict(figures)


async def test_the_report_per_question_and_per_segment(
    client: Client, staff: Staff, yearly_answered: dict[str, Any]
) -> None:
    response = await client.get(
        f"/api/v1/reports/questionnaires/{yearly_answered['id']}", headers=staff.supervisor
    )
    assert response.status == 200
    found = await response.json()
    assert found["surveys"] == {"sent": 3, "started": 3, "finished": 2}
    service, pricing, recommend, improve, words = found["questions"]
    assert (service["answers"], service["mean"]) == (3, 3.33)
    assert service["distribution"] == {"1": 0, "2": 1, "3": 1, "4": 0, "5": 1}
    assert (pricing["answers"], pricing["skipped"], pricing["mean"]) == (2, 1, 3.0)
    assert (recommend["mean"], recommend["nps"]) == (8.0, 0.0)  # one promoter, one detractor of three
    assert improve["distribution"] == {"1": 1, "2": 1, "3": 0, "4": 0}
    assert improve["mean"] is None
    assert (words["answers"], words["skipped"]) == (1, 1)
    assert [t["text"] for t in words["latest"]] == ["great"]
    assert segment(found, "tier", "vip", 1)["mean"] == 4.0
    assert segment(found, "tier", "regular", 1)["mean"] == 2.0
    assert segment(found, "region", "north", 1)["mean"] == 3.5
    assert segment(found, "region", "south", 3)["nps"] == -100.0
    assert segment(found, "channel", "ivr", 1)["distribution"]["3"] == 1
    assert segment(found, "channel", "agent", 2)["skipped"] == 1
    assert [r["segment"] for r in found["segments"]["channel"]] == ["agent", "ivr", "telegram"]


async def test_the_report_as_csv_in_each_language(
    client: Client, staff: Staff, yearly_answered: dict[str, Any]
) -> None:
    url = f"/api/v1/reports/questionnaires/{yearly_answered['id']}"
    response = await client.get(url, params={"format": "csv"}, headers=staff.supervisor)
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert rows[0] == ["dimension", "segment", "question", "question_text", "kind", "answer", "count", "mean"]
    service = "How satisfied are you with the quality of our service?"
    assert ["all", "", "1", service, "scale5", "5", "1", "3.33"] in rows
    assert ["tier", "vip", "1", service, "scale5", "3", "1", "4.0"] in rows
    assert [
        "region",
        "north",
        "4",
        "What should we improve first?",
        "choice",
        "Network coverage",
        "1",
        "",
    ] in rows
    assert [
        "channel",
        "agent",
        "2",
        "How satisfied are you with our prices?",
        "scale5",
        "skipped",
        "1",
        "",
    ] in rows
    response = await client.get(url, params={"format": "csv", "lang": "zh"}, headers=staff.admin)
    text = (await response.read()).decode("utf-8-sig")
    assert "tier,vip,4,您最希望我们先改进哪一方面？,choice,资费套餐,1," in text


async def test_only_supervisors_and_admins_read_questionnaires(
    client: Client, staff: Staff, yearly_answered: dict[str, Any]
) -> None:
    url = f"/api/v1/reports/questionnaires/{yearly_answered['id']}"
    assert (await client.get(url, headers=staff.agent)).status == 403
    assert (await client.get(url)).status == 401
    assert (await client.get("/api/v1/questionnaires", headers=staff.agent)).status == 403
    assert (await client.post("/api/v1/questionnaires", json=THREE, headers=staff.agent)).status == 403
    assert (await client.get(url, params={"format": "pdf"}, headers=staff.supervisor)).status == 400
    missing = await client.get("/api/v1/reports/questionnaires/999999", headers=staff.supervisor)
    assert missing.status == 404


async def test_a_questionnaire_is_written_in_both_languages_with_real_choices(
    client: Client, staff: Staff
) -> None:
    only_english = {"title": {"en": "T"}, "questions": [{"kind": "scale5", "text": {"en": "Q", "zh": "问"}}]}
    response = await client.post("/api/v1/questionnaires", json=only_english, headers=staff.supervisor)
    assert response.status == 400
    assert (await response.json())["details"]["field"] == "title"
    one_choice = {
        "title": {"en": "T", "zh": "题"},
        "questions": [
            {"kind": "choice", "text": {"en": "Q", "zh": "问"}, "choices": [{"en": "A", "zh": "甲"}]}
        ],
    }
    response = await client.post("/api/v1/questionnaires", json=one_choice, headers=staff.supervisor)
    assert response.status == 400
    assert "2 to 9 options" in (await response.json())["message"]


async def test_the_yearly_survey_by_keypad_on_a_signed_twilio_call(
    settings: Settings, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Scales by key (0–10 ended by #), the choice by digit, free text skipped; a wrong key
    is asked again; a repeated webhook records nothing twice; an unsigned one is refused."""
    async with twilio_app(settings) as client:
        async with sessions() as session:
            ids = await questionnaires.ensure_templates(session)
            customer = await create_customer(session, None, NewCustomer(name="Li", phones=("13800000021",)))
            survey = await surveys.send_survey(
                session,
                customer_id=customer.id,
                kind="quest",
                trigger="periodic",
                channel="phone",
                questionnaire_id=ids["yearly"],
            )
        start = f"/telephony/twilio/questionnaire?survey={survey.id}&lang=en"
        status, text = await post(client, start, {"CallSid": "CAQ1"})
        assert status == 200
        root = parse(text)
        assert [s.text for s in says(root)][:2] == [
            "Thank you for taking our short survey. Please answer each question with your keypad.",
            "Question 1 of 5. How satisfied are you with the quality of our service?\n"
            "Press a key from 1, very dissatisfied, to 5, very satisfied.",
        ]
        gather = root.find("Gather")
        assert gather is not None
        assert gather.attrib["numDigits"] == "1"
        first = gather_action(root)
        # 7 is no answer to a 1–5 question: asked again, with an apology.
        _, text = await post(client, first, {"CallSid": "CAQ1", "Digits": "7"})
        assert says(parse(text))[0].text == "Sorry, that is not one of the answers."
        again = gather_action(parse(text))
        assert "attempt=2" in again
        _, text = await post(client, again, {"CallSid": "CAQ1", "Digits": "4"})
        second = gather_action(parse(text))
        assert "Question 2 of 5" in (says(parse(text))[0].text or "")
        # Twilio delivers the same answer twice: the first stands, the call goes on.
        for _ in range(2):
            _, text = await post(client, second, {"CallSid": "CAQ1", "Digits": "2"})
        root = parse(text)
        gather = root.find("Gather")
        assert gather is not None
        assert gather.attrib.get("finishOnKey") == "#"
        assert "then press the hash key" in (says(root)[0].text or "")
        _, text = await post(client, gather_action(root), {"CallSid": "CAQ1", "Digits": "10"})
        assert "For Network coverage, press 1. For Prices and plans, press 2." in (
            says(parse(text))[0].text or ""
        )
        _, text = await post(client, gather_action(parse(text)), {"CallSid": "CAQ1", "Digits": "3"})
        assert [s.text for s in says(parse(text))] == ["Thank you for your answers. Goodbye."]
        forged = await post(client, start, {"CallSid": "CAQ1"}, sign=False)
        assert forged[0] == 403
    assert await answers(sessions, survey.id) == [(4, None), (2, None), (10, None), (3, None), (None, None)]
    async with sessions() as session:
        channels = (await session.execute(select(SurveyAnswer.channel).distinct())).scalars().all()
        done = (await session.execute(select(Survey.answered_at).where(Survey.id == survey.id))).scalar_one()
    assert channels == ["ivr"]
    assert done is not None
