"""The demo as a newcomer meets it after `make run`: every page has something on it, loading
it again duplicates nothing, and the printed test call pops on the named agent's screen."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.demo_call import CALLER, instructions
from callcenter.settings import Settings
from handlers import campaigns
from handlers.campaigns import CampaignSpec, Policy
from handlers.complaints.lifecycle import STATES
from handlers.defaults import TIMEZONE
from handlers.demo import BORN_TODAY, TEST_CALL_AGENT, load_demo
from handlers.demo_calls import Agents, Caller, day_calls
from storage.models import (
    Campaign,
    CampaignTarget,
    Complaint,
    Contact,
    CustomerIdentity,
    OfferConversion,
    Survey,
)
from storage.models.base import utcnow
from tests.console_client import sign_in

Client = TestClient[web.Request, web.Application]
ZONE = ZoneInfo(TIMEZONE)
TOKEN = "demo-cti-token"


@pytest.fixture
async def console(settings: Settings) -> AsyncIterator[Client]:
    # In English, for the labels the checks below read.
    configured = settings.model_copy(update={"cti_token": TOKEN, "console_language": "en"})
    async with TestClient(TestServer(create_app(configured))) as client:
        yield client


async def _counts(session: AsyncSession) -> dict[str, int]:
    counted = {}
    for name, model in (
        ("complaints", Complaint),
        ("contacts", Contact),
        ("surveys", Survey),
        ("campaigns", Campaign),
        ("targets", CampaignTarget),
        ("conversions", OfferConversion),
        ("identities", CustomerIdentity),
    ):
        counted[name] = int((await session.execute(select(func.count()).select_from(model))).scalar_one())
    return counted


async def _page(client: Client, path: str) -> str:
    response = await client.get(path)
    assert response.status == 200, path
    return await response.text()


async def test_loading_twice_duplicates_nothing_and_every_page_has_content(
    sessions: async_sessionmaker[AsyncSession], console: Client
) -> None:
    now = utcnow()
    async with sessions() as session:
        await load_demo(session, now=now)
        first = await _counts(session)
        passwords = await load_demo(session, now=now)
        assert await _counts(session) == first
        calls = (
            await session.execute(select(Contact).where(Contact.external_id.startswith("demo-")))
        ).scalars()
        calls = list(calls)
    # 60 days of calls, answered ones with the agent's disposition, some abandoned.
    days = {c.created_at.astimezone(ZONE).date() for c in calls}
    today = now.astimezone(ZONE).date()
    assert len(days) >= 59
    assert min(days) == today - timedelta(days=59)
    answered = [c for c in calls if c.answered_at is not None]
    assert answered
    assert all(c.disposition and c.agent_id and c.duration_seconds for c in answered)
    assert any(c.answered_at is None and c.ended_at is not None for c in calls)
    assert {c.queue for c in calls} >= {"vip", "general", "complaints", "english", "overflow"}
    assert all(c.ended_at is not None and c.ended_at <= now for c in calls)

    assert (await sign_in(console, "supervisor", passwords["supervisor"])).status == 302

    # The workbench lists a complaint in every state; the open list has an overdue and an urgent one.
    for state in STATES:
        page = await _page(console, f"/complaints?state={state}")
        assert re.search(r"CD-\d{4}-\d{6}", page), f"no {state} complaint"
    open_list = await _page(console, "/complaints")
    assert "overdue" in open_list
    assert "Urgent" in open_list

    # The satisfaction trend has CSAT and NPS points in (nearly) all of its twelve weeks.
    satisfaction = await _page(console, "/supervisor/satisfaction")
    assert satisfaction.count('<circle class="csat"') >= 10
    assert satisfaction.count('<circle class="nps"') >= 10

    # Two finished campaigns with results: sends and conversions, survey answers.
    listed = (await (await console.get("/api/v1/campaigns")).json())["campaigns"]
    finished = {
        row["campaign"]["kind"]: row["progress"] for row in listed if row["campaign"]["state"] == "finished"
    }
    assert finished["cross_sell"]["counts"]["sent"] > 10
    assert finished["cross_sell"]["conversions"]["accepted"] > 0
    assert finished["satisfaction"]["responses"]["answered"] > 10
    assert finished["satisfaction"]["responses"]["average_score"] is not None
    campaigns_page = await _page(console, "/supervisor/campaigns")
    assert "Gigabit broadband upgrade" in campaigns_page
    assert "Finished" in campaigns_page

    # The VIP's record: linked to Telegram, with her calls and their dispositions.
    customer = await _page(console, "/customers/1")
    assert CALLER.name in customer
    assert "Telegram" in customer
    assert str(CALLER.telegram) in customer
    assert "VIP" in customer


def test_a_day_of_calls_holds_what_was_over_by_then() -> None:
    """Today's calls up to now, so the day's figures have something: none still ringing."""
    day = date(2026, 11, 25)  # a Wednesday
    callers = [Caller(n, f"+86139{n:08d}", "regular", "zh", False, 1.0) for n in range(1, 20)]
    agents = Agents(senior=1, junior=2)
    noon = datetime.combine(day, time(12, 0), ZONE)
    morning = day_calls(day, callers, agents, ZONE, noon)
    whole = day_calls(day, callers, agents, ZONE, noon + timedelta(days=1))
    assert 10 < len(morning) < len(whole)
    assert all(c.ended_at <= noon for c in morning)
    assert {c.external_id for c in morning} <= {c.external_id for c in whole}  # same ids later


def _curl(line: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL, headers and JSON body of a printed curl command, as a shell would pass them."""
    words = shlex.split(line)
    assert words[:4] == ["curl", "-s", "-X", "POST"]
    headers = dict(words[i + 1].split(": ", 1) for i, w in enumerate(words) if w == "-H")
    return words[4], headers, json.loads(words[words.index("-d") + 1])


async def _next(socket: Any, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            message = dict(await socket.receive_json())
            if message["type"] == kind:
                return message


async def test_the_printed_call_pops_on_the_named_agent_also_after_loading_again(
    sessions: async_sessionmaker[AsyncSession], console: Client
) -> None:
    async with sessions() as session:
        passwords = await load_demo(session)
    for attempt in range(2):
        printed = instructions("http://127.0.0.1:8080", TOKEN, call_id=f"demo-test-{attempt}")
        assert f"sign in as {TEST_CALL_AGENT}" in printed
        ring, hangup = (line for line in printed.splitlines() if line.startswith("curl "))
        url, headers, body = _curl(ring)
        assert url == "http://127.0.0.1:8080/telephony/cti"
        assert headers["Authorization"] == f"Bearer {TOKEN}"
        assert (await sign_in(console, TEST_CALL_AGENT, passwords[TEST_CALL_AGENT])).status == 302
        async with console.ws_connect("/agent/ws") as socket:
            response = await console.post("/telephony/cti", json=body, headers=headers)
            assert (await response.json())["agent"] == TEST_CALL_AGENT
            pop = await _next(socket, "screen_pop")
            assert pop["call_id"] == body["call_id"]
            assert pop["customer"]["name"] == CALLER.name
            assert pop["customer"]["tier"] == "vip"
            if attempt == 1:
                _, headers, body = _curl(hangup)
                await console.post("/telephony/cti", json=body, headers=headers)
                assert (await _next(socket, "call_ended"))["call_id"] == body["call_id"]
        console.session.cookie_jar.clear()
        # The first call is left ringing: loading the demo again hangs it up and frees the agent.
        async with sessions() as session:
            passwords = await load_demo(session)


async def test_a_care_campaign_started_on_the_demo_greets_the_customer_born_that_day(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime(2026, 2, 28, 1, 30, tzinfo=UTC)  # 09:30 on 28 February in Shanghai
    async with sessions() as session:
        await load_demo(session, now=now)
        born_today = await session.scalar(
            select(CustomerIdentity.customer_id).where(
                CustomerIdentity.kind == "phone", CustomerIdentity.value == BORN_TODAY
            )
        )
    midnight = datetime.combine(now.astimezone(ZONE).date(), time(), ZONE)
    spec = CampaignSpec(
        name="Birthdays today", kind="care", audience={"occasions": ["birthday"]}, starts_at=midnight
    )
    async with sessions() as session:
        campaign = await campaigns.create(session, spec, created_by=None, schedule=True, now=now)
    await campaigns.expand_due(sessions, Policy(), now=now)
    async with sessions() as session:
        greeted = (
            await session.scalars(
                select(CampaignTarget.customer_id).where(CampaignTarget.campaign_id == campaign.id)
            )
        ).all()
    # The demo's other birthdays (19 July, 2 November) are other days.
    assert greeted == [born_today]
