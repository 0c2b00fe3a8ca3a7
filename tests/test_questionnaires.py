"""Questionnaires as customers answer them on Telegram and as supervisors read them: a real
app, the Bot API stand-in, updates in Telegram's JSON through the webhook."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.settings import Settings
from handlers.customers import NewCustomer, create_customer
from storage.models import Survey, SurveyAnswer
from tests.conftest import Staff
from tests.inbox_fixtures import Client, bot_app, drain
from tests.telegram_standin import BotApiStandIn, bot_api
from tests.test_telegram_bot import EMILY, WANG, Chat

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
