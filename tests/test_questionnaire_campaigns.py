"""The yearly questionnaire sent by a satisfaction campaign: to Telegram chats by the worker,
and through the dialer, where the agent records the answers on the console form; the
supervisor's pages read them back."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Survey, SurveyAnswer
from tests.conftest import Staff
from tests.console_client import csrf_in, sign_in
from tests.telegram_standin import BotApiStandIn
from tests.test_campaigns_api import ALL_DAY, PBX, Client, wait_for
from tests.test_campaigns_api import api as api
from tests.test_campaigns_api import desk as desk
from tests.test_telegram_bot import Chat


async def yearly_id(client: Client, staff: Staff) -> int:
    listed = await (await client.get("/api/v1/questionnaires", headers=staff.supervisor)).json()
    return int(next(q["id"] for q in listed["questionnaires"] if q["key"] == "yearly"))


async def campaign(client: Client, staff: Staff, **fields: Any) -> dict[str, Any]:
    created = await client.post(
        "/api/v1/campaigns",
        json={"name": "Yearly survey", "kind": "satisfaction", "schedule": ALL_DAY, **fields},
        headers=staff.supervisor,
    )
    assert created.status == 201, await created.text()
    return dict((await created.json())["campaign"])


async def test_a_satisfaction_campaign_sends_the_yearly_questionnaire_on_telegram(
    desk: Client,
    api: BotApiStandIn,
    staff: Staff,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    yearly = await yearly_id(desk, staff)
    missing = await desk.post(
        "/api/v1/campaigns",
        json={"name": "x", "kind": "satisfaction", "survey_kind": "quest"},
        headers=staff.supervisor,
    )
    assert missing.status == 400
    assert (await missing.json())["details"]["field"] == "questionnaire_id"
    started = await campaign(
        desk, staff, survey_kind="quest", questionnaire_id=yearly, audience={"regions": ["beijing"]}
    )
    done = await wait_for(desk, started["id"], staff.supervisor, "finished")
    assert done["progress"]["counts"] == {"sent": 3}
    invitation = next(c for c in api.sent() if str(c.params["chat_id"]) == "9002")
    [[start]] = invitation.markup["inline_keyboard"]
    assert start["text"] == "开始"
    chat = Chat(desk, api, 9002, "zh", "B")
    [question] = await chat.press(start["callback_data"])
    assert question.startswith("第 1 题（共 5 题）：您对我们的服务质量满意吗？")
    async with sessions() as session:
        surveys = (
            (await session.execute(select(Survey).where(Survey.campaign_id == started["id"]))).scalars().all()
        )
    assert {(s.kind, s.questionnaire_id) for s in surveys} == {("quest", yearly)}


async def test_the_agent_records_the_answers_on_a_dialer_call(
    desk: Client,
    staff: Staff,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    yearly = await yearly_id(desk, staff)
    await campaign(
        desk,
        staff,
        channel="dialer",
        survey_kind="quest",
        questionnaire_id=yearly,
        audience={"tiers": ["vip"]},
    )
    call: dict[str, Any] = {}
    for _ in range(100):  # the worker expands the campaign in the background
        response = await desk.get("/api/v1/dialer/next", headers=PBX)
        if response.status == 200:
            call = await response.json()
            break
        await asyncio.sleep(0.05)
    survey_id = call["survey_id"]
    assert call["answer_url"] == f"/surveys/{survey_id}/answers"
    # A stranger is sent to sign in.
    stranger = await desk.get(call["answer_url"], allow_redirects=False)
    assert stranger.status in (302, 303)
    await sign_in(desk, "agent1", "pw-agent1")
    page = await (await desk.get(call["answer_url"])).text()
    assert "How satisfied are you with our prices?" in page or "您对我们的资费价格满意吗？" in page
    listed = await (await desk.get(f"/api/v1/questionnaires/{yearly}", headers=staff.supervisor)).json()
    q1, q2, q3, q4, q5 = (q["id"] for q in listed["questions"])
    # 6 is no answer to a 1–5 question: the form comes back, nothing is stored.
    wrong = {"csrf": csrf_in(page), f"q{q1}": "5", f"q{q2}": "6"}
    refused = await desk.post(call["answer_url"], data=wrong, allow_redirects=False)
    assert refused.status == 400
    text = await refused.text()
    assert "Question 2 takes an answer from 1 to 5; nothing was saved." in text or "第 2 题" in text
    assert 'value="5" checked' in text  # as it was filled in
    async with sessions() as session:
        assert (await session.execute(select(SurveyAnswer))).first() is None
    # The customer answers three questions, declines the free text; the fourth waits.
    form = {"csrf": csrf_in(page), f"q{q1}": "5", f"q{q2}": "3", f"q{q3}": "9", f"skip{q5}": "1"}
    saved = await desk.post(call["answer_url"], data=form, allow_redirects=False)
    assert saved.status == 303
    assert saved.headers["Location"] == f"{call['answer_url']}?saved=1"
    async with sessions() as session:
        rows = (
            (await session.execute(select(SurveyAnswer).order_by(SurveyAnswer.question_id))).scalars().all()
        )
        done = (await session.execute(select(Survey.answered_at).where(Survey.id == survey_id))).scalar_one()
    assert [(r.value, r.skipped, r.channel) for r in rows] == [
        (5, False, "agent"),
        (3, False, "agent"),
        (9, False, "agent"),
        (None, True, "agent"),
    ]
    assert done is None  # question 4 is still open
    page = await (await desk.get(call["answer_url"])).text()
    finish = {"csrf": csrf_in(page), f"q{q4}": "3"}
    assert (await desk.post(call["answer_url"], data=finish, allow_redirects=False)).status == 303
    async with sessions() as session:
        done = (await session.execute(select(Survey.answered_at).where(Survey.id == survey_id))).scalar_one()
    assert done is not None
    # The supervisor's pages: the agent may not open them.
    assert (await desk.get(f"/supervisor/satisfaction/questionnaires/{yearly}")).status == 403


async def test_the_campaign_form_offers_each_questionnaire_as_a_survey(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await sign_in(client, "supervisor", "pw-supervisor")
    page = await (await client.get("/supervisor/campaigns")).text()
    yearly = await yearly_id(client, staff)
    assert f'<option value="quest:{yearly}">Yearly satisfaction survey</option>' in page
    fields = {
        "csrf": csrf_in(page),
        "name": "Yearly survey 2026",
        "kind": "satisfaction",
        "survey_kind": f"quest:{yearly}",
        "channel": "telegram",
        "hour_from": "9",
        "hour_to": "20",
        "weekdays": "0",
    }
    created = await client.post("/supervisor/campaigns", data=fields, allow_redirects=False)
    assert created.status == 303, await created.text()
    listed = await (await client.get("/api/v1/campaigns", headers=staff.supervisor)).json()
    [ours] = [r["campaign"] for r in listed["campaigns"] if r["campaign"]["name"] == "Yearly survey 2026"]
    assert (ours["survey_kind"], ours["questionnaire_id"]) == ("quest", yearly)
