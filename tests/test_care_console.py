"""A care campaign as supervisors create it (issue 18): through the console's campaign form
and the JSON API, refused for agents, shown among the campaigns with its progress; and the
quarterly follow-up (回访) audience, customers with a recent complaint or contact."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import Settings
from handlers import campaigns
from handlers.accounts import save_user
from storage.models.base import utcnow
from tests.conftest import Staff
from tests.console_client import sign_in
from tests.test_campaign_form import PAGE, Client, people, post, supervisor

__all__ = ["people", "supervisor"]  # fixtures of the campaign form's tests

CARE_FORM: dict[str, Any] = {
    "name": "Care greetings",
    "kind": "care",
    "channel": "dialer",  # hidden for a care campaign: it greets on Telegram
    "message_zh": "hidden text, not used",
    "occasions": ["birthday", "holiday"],
    "hour_from": "9",
    "hour_to": "20",
    "weekdays": ["0"],
    "tiers": ["vip"],
}


async def test_a_supervisor_creates_a_care_campaign_from_the_form(supervisor: Client) -> None:
    page = await (await supervisor.get(PAGE)).text()
    assert '<option value="care">Care greetings</option>' in page
    assert re.search(r'name="occasions" value="birthday"[^>]*checked>Birthday', page)
    status, _page = await post(supervisor, PAGE, CARE_FORM)
    assert status == 200
    listed = await (await supervisor.get("/api/v1/campaigns")).json()
    campaign = listed["campaigns"][0]["campaign"]
    assert {k: campaign[k] for k in ("kind", "channel", "messages", "recurrence_days", "weekdays")} == {
        "kind": "care",
        "channel": "telegram",
        "messages": {},
        "recurrence_days": 1,
        "weekdays": [0, 1, 2, 3, 4, 5, 6],
    }
    assert campaign["audience"] == {"tiers": ["vip"], "occasions": ["birthday", "holiday"]}
    assert "progress" in listed["campaigns"][0]
    page = await (await supervisor.get(PAGE)).text()
    assert "<td>Care greetings</td><td>Care greetings</td>" in page


async def test_the_care_campaign_form_in_chinese(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        await save_user(session, "boss", "pw-boss", role="supervisor")
    chinese = settings.model_copy(update={"console_language": "zh"})
    async with TestClient(TestServer(create_app(chinese))) as browser:
        assert (await sign_in(browser, "boss", "pw-boss")).status == 302
        page = await (await browser.get(PAGE)).text()
    assert '<option value="care">关怀问候</option>' in page
    assert re.search(r'name="occasions" value="birthday"[^>]*checked>生日', page)


async def test_a_care_campaign_through_the_api(
    client: TestClient[Any, Any], staff: Staff, people: dict[str, int]
) -> None:
    body = {"name": "Care", "kind": "care", "audience": {"occasions": ["anniversary"]}}
    created = await client.post("/api/v1/campaigns", json=body, headers=staff.supervisor)
    assert created.status == 201, await created.text()
    campaign = (await created.json())["campaign"]
    assert (campaign["kind"], campaign["recurrence_days"]) == ("care", 1)
    refused = await client.post("/api/v1/campaigns", json=body, headers=staff.agent)
    assert refused.status == 403
    wrong = await client.post(
        "/api/v1/campaigns", json={**body, "messages": {"en": "Hi"}}, headers=staff.supervisor
    )
    assert wrong.status == 400
    assert (await wrong.json())["error"] == "care-messages"
    by_phone = await client.post(
        "/api/v1/campaigns", json={**body, "channel": "dialer"}, headers=staff.supervisor
    )
    assert by_phone.status == 400
    assert (await by_phone.json())["message"] == "a care campaign greets on Telegram"
    bad = await client.post(
        "/api/v1/campaigns", json={**body, "audience": {"occasions": ["easter"]}}, headers=staff.supervisor
    )
    assert bad.status == 400
    assert "occasions are birthday, anniversary and holiday" in (await bad.json())["message"]


async def test_the_quarterly_follow_up_reaches_recent_complaints_and_contacts(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    async with sessions() as session:
        count = await campaigns.count_audience(
            session, "follow_up", {"contacted_within_days": 90}, now=utcnow()
        )
    # campaign_fixtures: one contact yesterday, an open and a closed complaint (both lodged now).
    assert count == 3
