"""Campaigns from the supervisor's JSON API to the customer's Telegram chat and back: the
real app with its worker running, a local Bot API stand-in, the PBX pulling the dialer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import Settings
from storage.models.base import utcnow
from tests.campaign_fixtures import OFFER, populate
from tests.conftest import Staff
from tests.telegram_standin import BotApiStandIn, bot_api
from tests.test_telegram_bot import Chat

SECRET = "webhook-secret"
PBX = {"Authorization": "Bearer pbx-token"}
Client = TestClient[web.Request, web.Application]
ALL_DAY = {"hour_from": 0, "hour_to": 24}


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    async with bot_api() as standin:
        yield standin


@pytest.fixture
async def desk(
    settings: Settings, api: BotApiStandIn, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Client]:
    """The product as `serve` runs it: workers on, the bot pointed at the stand-in."""
    await populate(sessions, utcnow())
    configured = settings.model_copy(
        update={
            "bot_token": "123456:TEST",
            "telegram_api_base": api.base_url,
            "telegram_webhook_secret": SECRET,
            "telegram_chat_interval_seconds": 0.0,
            "cti_token": "pbx-token",
            "campaign_idle_seconds": 0.05,
            "telegram_sender_idle_seconds": 0.05,
            "timer_interval_seconds": 3600,
        }
    )
    async with TestClient(TestServer(create_app(configured, run_workers=True))) as client:
        yield client


async def wait_for(client: Client, campaign_id: int, headers: dict[str, str], state: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(200):
        body = await (await client.get(f"/api/v1/campaigns/{campaign_id}", headers=headers)).json()
        if body["campaign"]["state"] == state:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"campaign never became {state}: {body}")


async def test_a_supervisor_runs_a_satisfaction_campaign_and_reads_its_response_rate(
    desk: Client, api: BotApiStandIn, staff: Staff
) -> None:
    audience = {"regions": ["beijing"]}
    counted = await desk.post(
        "/api/v1/campaigns/audience",
        json={"kind": "satisfaction", "audience": audience},
        headers=staff.supervisor,
    )
    assert await counted.json() == {"count": 3}

    created = await desk.post(
        "/api/v1/campaigns",
        json={
            "name": "Beijing CSAT",
            "kind": "satisfaction",
            "survey_kind": "csat",
            "audience": audience,
            "schedule": ALL_DAY,
        },
        headers=staff.supervisor,
    )
    assert created.status == 201
    campaign = (await created.json())["campaign"]
    assert campaign["audience_count"] == 3

    done = await wait_for(desk, campaign["id"], staff.supervisor, "finished")
    assert done["progress"]["counts"] == {"sent": 3}
    assert sorted(str(c.params["chat_id"]) for c in api.sent()) == ["9002", "9009", "9010"]

    # The customer taps "5" in Telegram; the supervisor sees the response rate move.
    question = next(c for c in api.sent() if str(c.params["chat_id"]) == "9002")
    tap = question.markup["inline_keyboard"][0][4]["callback_data"]
    chat = Chat(desk, api, 9002, "zh", "B")
    replies = await chat.press(tap)
    assert replies  # thanked in Chinese
    body = await (await desk.get(f"/api/v1/campaigns/{campaign['id']}", headers=staff.supervisor)).json()
    assert body["progress"]["responses"] == {
        "surveys": 3,
        "answered": 1,
        "response_rate": 0.333,
        "average_score": 5.0,
    }
    # The same answers in the satisfaction report, by campaign.
    report = await desk.get("/api/v1/reports/satisfaction?group_by=campaign", headers=staff.supervisor)
    rows = {row["group"]: row for row in (await report.json())["rows"]}
    ours = rows[str(campaign["id"])]
    assert (ours["surveys_sent"], ours["responses"], ours["csat_average"]) == (3, 1, 5.0)


async def test_pause_and_resume_over_the_api(desk: Client, api: BotApiStandIn, staff: Staff) -> None:
    created = await desk.post(
        "/api/v1/campaigns",
        json={
            "name": "later",
            "kind": "follow_up",
            "messages": {"zh": "您好 {{ name }}", "en": "Hi {{ name }}"},
            "schedule": {**ALL_DAY, "starts_at": "2099-01-01T00:00:00Z"},
        },
        headers=staff.supervisor,
    )
    campaign_id = (await created.json())["campaign"]["id"]
    paused = await desk.post(f"/api/v1/campaigns/{campaign_id}/pause", headers=staff.supervisor)
    assert (await paused.json())["campaign"]["state"] == "paused"
    again = await desk.post(f"/api/v1/campaigns/{campaign_id}/pause", headers=staff.supervisor)
    assert again.status == 409
    assert "cannot pause" in (await again.json())["message"]
    resumed = await desk.post(f"/api/v1/campaigns/{campaign_id}/resume", headers=staff.supervisor)
    assert (await resumed.json())["campaign"]["state"] == "scheduled"  # it has not started yet
    cancelled = await desk.post(f"/api/v1/campaigns/{campaign_id}/cancel", headers=staff.supervisor)
    assert (await cancelled.json())["campaign"]["state"] == "cancelled"
    assert api.sent() == []


async def test_a_preview_shows_the_message_as_customers_would_read_it(desk: Client, staff: Staff) -> None:
    created = await desk.post(
        "/api/v1/campaigns",
        json={
            "name": "draft",
            "kind": "follow_up",
            "messages": {"zh": "{{ name }}，您好", "en": "Hello {{ name }}"},
            "audience": {"tiers": ["preferred"]},
            "start": False,
        },
        headers=staff.supervisor,
    )
    campaign_id = (await created.json())["campaign"]["id"]
    preview = await (
        await desk.get(f"/api/v1/campaigns/{campaign_id}/preview", headers=staff.supervisor)
    ).json()
    assert [s["texts"] for s in preview["samples"]] == [
        {"zh": "Customer london，您好", "en": "Hello Customer london"}
    ]


async def test_bad_campaigns_get_a_clear_400_and_agents_a_403(desk: Client, staff: Staff) -> None:
    bad = await desk.post(
        "/api/v1/campaigns", json={"name": "x", "kind": "spam", "schedule": ALL_DAY}, headers=staff.supervisor
    )
    assert bad.status == 400
    assert "unknown campaign kind" in (await bad.json())["message"]
    broken = await desk.post(
        "/api/v1/campaigns",
        json={"name": "x", "kind": "follow_up", "messages": {"zh": "{{ name "}},
        headers=staff.supervisor,
    )
    assert broken.status == 400
    assert "not a valid template" in (await broken.json())["message"]
    forbidden = await desk.get("/api/v1/campaigns", headers=staff.agent)
    assert forbidden.status == 403


async def test_the_pbx_pulls_the_dialer_list_and_reports_back_once(desk: Client, staff: Staff) -> None:
    created = await desk.post(
        "/api/v1/campaigns",
        json={
            "name": "call key accounts",
            "kind": "follow_up",
            "channel": "dialer",
            "messages": {"zh": "请致电 {{ name }}，询问服务体验"},
            "audience": {"tiers": ["vip"]},
            "schedule": ALL_DAY,
        },
        headers=staff.supervisor,
    )
    campaign_id = (await created.json())["campaign"]["id"]
    assert (await desk.get("/api/v1/dialer/next")).status == 401

    call: dict[str, Any] = {}
    for _ in range(100):  # the worker expands the campaign in the background
        response = await desk.get("/api/v1/dialer/next", headers=PBX)
        if response.status == 200:
            call = await response.json()
            break
        await asyncio.sleep(0.05)
    assert (call["phone"], call["script"]) == ("+8613800000001", "请致电 Customer vip，询问服务体验")
    assert (await desk.get("/api/v1/dialer/next", headers=PBX)).status == 204  # nobody else is due

    report = {"target_id": call["target_id"], "outcome": "answered", "note": "happy"}
    first = await desk.post("/api/v1/dialer/results", json=report, headers=PBX)
    repeat = await desk.post("/api/v1/dialer/results", json=report, headers=PBX)
    assert (await first.json())["repeat"] is False
    assert (await repeat.json())["repeat"] is True
    bad = await desk.post("/api/v1/dialer/results", json={**report, "outcome": "maybe"}, headers=PBX)
    assert bad.status == 400
    done = await wait_for(desk, campaign_id, staff.supervisor, "finished")
    assert done["progress"]["counts"] == {"answered": 1}


async def test_the_supervisor_page_lists_every_kind_of_campaign_with_its_progress(
    desk: Client, staff: Staff
) -> None:
    for name, kind, extra in (
        ("Survey", "satisfaction", {"survey_kind": "csat"}),
        ("Follow-up", "follow_up", {"messages": {"zh": "您好"}}),
        ("Offer", "cross_sell", {"offer_code": OFFER, "messages": {"en": "{{ offer }}?"}}),
    ):
        created = await desk.post(
            "/api/v1/campaigns",
            json={"name": name, "kind": kind, "schedule": ALL_DAY, **extra},
            headers=staff.supervisor,
        )
        assert created.status == 201
    page = await desk.get("/supervisor/campaigns", headers=staff.supervisor)
    html = await page.text()
    assert page.status == 200
    assert all(name in html for name in ("Survey", "Follow-up", "Offer"))
    assert html.count("<progress") == 3
    assert (await desk.get("/supervisor/campaigns", headers=staff.agent)).status == 403
