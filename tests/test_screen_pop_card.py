"""The full screen pop as the agent sees it: every field of the card in both languages, a
complaint logged from the card, the availability and the queue panel pushed by the server."""

from __future__ import annotations

import asyncio
import html as html_text
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import Settings
from handlers import complaints
from storage import customers as customers_repo
from storage import surveys as surveys_repo
from storage.models.base import utcnow
from storage.routing import presence
from storage.users import get_by_login
from tests.conftest import Staff
from tests.console_client import CTI_TOKEN, call, hang_up
from tests.routing_fixtures import POLICY, Callers, seed

JSON = {"Accept": "application/json"}
Client = TestClient[web.Request, web.Application]

# What the card says, in each console language.
LABELS = {
    "en": {
        "phone": "Phone",
        "tier": "VIP",
        "region": "Region",
        "language": "Chinese",
        "spend": "Monthly spend",
        "holdings": "Holdings",
        "contacts": "Last contacts",
        "satisfaction": "Last satisfaction",
        "offer": "Suggested offer",
        "peers": "1 customer with similar products holds it",
        "complaints": "Open complaints",
        "urgent": "Urgent",
        "billing": "Billing",
        "profile": "Full profile",
        "ticket": "— read it to the caller",
        "busy": "On a call",
        "wrap_up": "Wrap-up",
        "waiting": "Calls waiting",
    },
    "zh": {
        "phone": "电话",
        "tier": "VIP",
        "region": "地区",
        "language": "中文",
        "spend": "月消费",
        "holdings": "已订业务",
        "contacts": "最近联系",
        "satisfaction": "最近满意度",
        "offer": "推荐产品",
        "peers": "1 位产品相近的客户在用",
        "complaints": "未结投诉",
        "urgent": "紧急",
        "billing": "账单",
        "profile": "完整资料",
        "ticket": "请读给来电客户",
        "busy": "通话中",
        "wrap_up": "话后处理",
        "waiting": "排队来电",
    },
}


@pytest.fixture(params=["zh", "en"])
def language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def console(settings: Settings, language: str) -> AsyncIterator[Client]:
    configured = settings.model_copy(update={"cti_token": CTI_TOKEN, "console_language": language})
    async with TestClient(TestServer(create_app(configured))) as client:
        yield client


@pytest.fixture
async def callers(sessions: async_sessionmaker[AsyncSession], staff: Staff) -> Callers:
    """The routing callers; the VIP holds a product, lives in Beijing and answered a survey,
    and a preferred customer holds what the VIP is offered."""
    found = await seed(sessions)
    async with sessions() as session:
        basic = await customers_repo.get_or_create_product(session, "mobile-basic", "Mobile Basic 58")
        unlimited = await customers_repo.get_or_create_product(
            session, "mobile-unlimited", "Mobile Unlimited 128"
        )
        since = utcnow().date() - timedelta(days=400)
        await customers_repo.set_holding(session, found.vip, basic, since, Decimal("58.00"))
        await customers_repo.set_holding(session, found.preferred, basic, since, Decimal("58.00"))
        await customers_repo.set_holding(session, found.preferred, unlimited, since, Decimal("128.00"))
        await customers_repo.update_fields(session, found.vip, region="Beijing")
        survey = await surveys_repo.insert(
            session,
            surveys_repo.NewSurvey(
                customer_id=found.vip,
                kind="csat",
                trigger="call",
                channel="phone",
                created_at=utcnow() - timedelta(days=3),
                expires_at=utcnow() + timedelta(days=3),
            ),
        )
        await surveys_repo.record_answer(session, survey.id, 4, None, utcnow() - timedelta(days=2))
        await session.commit()
        await complaints.lodge(
            session,
            customer_id=found.complainer,
            category="billing",
            description="cut off twice",
            severity="urgent",
            channel="phone",
            policy=POLICY,
        )
    return found


async def next_of(socket: Any, kind: str, wait: float = 5, until: str | None = None) -> dict[str, Any]:
    """The next message of this type (and holding `until` in its html), skipping the others."""
    async with asyncio.timeout(wait):
        while True:
            message = dict(await socket.receive_json())
            if message["type"] == kind and (until is None or until in message.get("html", "")):
                return message


def text_of(card: str) -> str:
    """The card as a reader sees it: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html_text.unescape(re.sub(r"<[^>]+>", " ", card)).split())


async def test_the_pop_shows_the_callers_whole_card(
    console: Client, callers: Callers, staff: Staff, language: str
) -> None:
    words = LABELS[language]
    # A first call, wrapped up with a disposition: the next card lists it.
    await call(console, "before-1", "13800000001", agent="agent1")
    await console.post(
        "/agent/calls/before-1/disposition", data={"disposition": "explained bill"}, headers=staff.agent
    )
    await hang_up(console, "before-1")
    async with console.ws_connect("/agent/ws", headers=staff.agent) as socket:
        await call(console, "full-1", "13800000001")  # VIP → agent1
        pop = await next_of(socket, "screen_pop")
    card = pop["html"]
    shown = text_of(card)
    assert "vip" in shown.lower()
    for label in ("phone", "tier", "region", "language", "spend", "holdings", "contacts", "satisfaction"):
        assert words[label] in shown, label
    assert "+8613800000001" in shown
    assert "Beijing" in shown
    assert "Mobile Basic 58" in shown
    assert "¥58.00" in shown
    assert "explained bill" in shown
    assert re.search(r"(CSAT|满意度) 4", shown)
    assert words["offer"] in shown
    assert "Mobile Unlimited 128" in shown
    assert words["peers"] in shown
    assert f'href="/customers/{callers.vip}"' in card
    assert words["profile"] in shown
    # The timer counts from when the call was offered, a time the server gives.
    assert re.search(r'class="timer" data-since="\d{4}-\d\d-\d\dT[^"]+\+00:00"', card)


async def test_the_pop_shows_open_complaints_with_severity_and_deadline(
    console: Client, callers: Callers, staff: Staff, language: str
) -> None:
    words = LABELS[language]
    async with console.ws_connect("/agent/ws", headers=staff.agent) as socket:
        await call(console, "full-2", "13800000005")  # the complainer → agent1 (complaints)
        card = (await next_of(socket, "screen_pop"))["html"]
    shown = text_of(card)
    assert words["complaints"] in shown
    assert words["billing"] in shown
    assert 'class="complaint-row urgent"' in card
    assert f'class="badge urgent">{words["urgent"]}<' in card
    assert "wrong bill" not in shown  # descriptions stay on the full profile
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", shown)  # the deadline, in the operator's time


async def test_a_complaint_logged_from_the_card_answers_with_its_ticket_and_the_card_again(
    console: Client, callers: Callers, staff: Staff, language: str
) -> None:
    words = LABELS[language]
    await call(console, "log-1", "13800000001", agent="agent1")
    page = await (await console.get("/agent/calls/log-1/card", headers=staff.agent)).text()
    assert words["complaints"] in text_of(page)
    lodged = await console.post(
        "/agent/calls/log-1/complaint",
        data={"category": "billing", "description": "charged twice", "severity": "urgent"},
        headers={**staff.agent, **JSON},
    )
    assert lodged.status == 201
    answer = await lodged.json()
    ticket = answer["ticket"]
    shown = text_of(answer["html"])
    assert ticket in shown
    assert words["ticket"] in shown
    listed = text_of(answer["html"].split('class="open-complaints"')[1].split("</section>")[0])
    assert ticket in listed
    assert words["urgent"] in listed


async def test_a_state_changed_on_the_server_reaches_the_agents_page(
    console: Client, callers: Callers, staff: Staff, language: str
) -> None:
    words = LABELS[language]
    async with console.ws_connect("/agent/ws", headers=staff.agent) as socket:
        opening = await next_of(socket, "agent_state")
        assert opening["state"] == "available"
        await call(console, "state-1", "13800000001")  # offered to agent1: busy
        busy = await next_of(socket, "agent_state", until=words["busy"])
        assert busy["state"] == "busy"
        await hang_up(console, "state-1")
        assert (await next_of(socket, "agent_state"))["state"] == "available"
        # A supervisor puts agent1 in wrap-up; the page's switch follows.
        moved = await console.post(
            "/agent/state", data={"agent": "agent1", "state": "wrap_up"}, headers={**staff.supervisor, **JSON}
        )
        assert moved.status == 200
        wrap_up = await next_of(socket, "agent_state")
        assert wrap_up["state"] == "wrap_up"
        assert words["wrap_up"] in text_of(wrap_up["html"])
        assert 'value="wrap_up" disabled' in wrap_up["html"]
        # From another tab (another client with the agent's token).
        await console.post("/agent/state", data={"state": "available"}, headers={**staff.agent, **JSON})
        assert (await next_of(socket, "agent_state"))["state"] == "available"
    refused = await console.post(
        "/agent/state", data={"agent": "agent1", "state": "offline"}, headers={**staff.agent2, **JSON}
    )
    assert refused.status == 403


async def test_the_queue_panel_shows_a_waiting_call(
    console: Client, callers: Callers, staff: Staff, sessions: async_sessionmaker[AsyncSession], language: str
) -> None:
    async with sessions() as session:
        for login in ("agent1", "agent2"):
            user = await get_by_login(session, login)
            assert user is not None
            await presence.set_agent_state(session, user.id, "offline", utcnow())
        await session.commit()
    async with console.ws_connect("/agent/ws", headers=staff.agent2) as socket:
        quiet = await next_of(socket, "queues")
        assert LABELS[language]["waiting"] in text_of(quiet["html"])
        assert 'data-queue="general"' in quiet["html"]
        assert 'data-queue="vip"' not in quiet["html"]  # agent2 does not serve it
        decision = await call(console, "wait-1", "13800000004")  # no agent free
        assert (decision["queue"], decision.get("agent")) == ("general", None)
        moved = await next_of(socket, "queues")
    row = moved["html"].split('data-queue="general"')[1].split("</div>")[0]
    assert '<strong class="queue-count">1</strong>' in row
    assert 'class="timer" data-since=' in row
    page = await (await console.get("/agent", headers=staff.agent2)).text()
    assert '<strong class="queue-count">1</strong>' in page
