"""Whole journeys through the console in a real browser (Debian's chromium), on PostgreSQL:
what a new agent, supervisor and admin do on their first day, in Chinese and in English.

Each journey is written with the steps in tests/browser_steps.py (sign in, switch language,
screenshot), against one real server (`console`); a new journey is one more test here."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.console_pages import PAGES
from callcenter.settings import Settings
from handlers.accounts import save_user
from storage.routing.queues import upsert_queue
from templates.i18n import translations
from tests.browser_steps import (
    csp_violations,
    launch,
    new_page,
    screenshot,
    sign_in,
    skip_without_chromium,
    switch_language,
)
from tests.conftest import Staff
from tests.console_client import CTI_TOKEN, call
from tests.test_compensation_approval import investigating, resolve, resolved_messages
from tests.test_complaints_api import lodge
from tests.test_customers_api import create

skip_without_chromium()


@dataclass
class Console:
    """A running console and a browser to open it with."""

    base: str
    browser: Any
    shots: Path
    # The same server over plain HTTP: the telephony platform's webhook and the API.
    http: TestClient[web.Request, web.Application]
    staff: Staff

    async def page_of(self, login: str, password: str) -> Any:
        """A new browser profile signed in as `login`; what the page's CSP blocks is kept on
        `page.blocked` and checked at the end of the journey."""
        page = await new_page(self.browser)
        page.blocked = csp_violations(page)
        await sign_in(page, self.base, login, password)
        return page


@pytest.fixture
async def console(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], staff: Staff, tmp_path: Path
) -> AsyncIterator[Console]:
    from playwright.async_api import async_playwright

    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the journeys run on PostgreSQL, as in production")
    async with sessions() as session:
        for name, description in (("general", "General queue"), ("vip", "VIP line")):
            await upsert_queue(session, name, description=description)
        await session.commit()
    configured = settings.model_copy(update={"cti_token": CTI_TOKEN})
    async with TestClient(TestServer(create_app(configured))) as client, async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            yield Console(str(client.make_url("")).rstrip("/"), browser, tmp_path, client, staff)
        finally:
            await browser.close()


def nav_labels(language: str, role: str) -> list[str]:
    """The bar's labels a role sees, as the catalogue words them."""
    return [translations(language).gettext(link.label) for link in PAGES if role in link.roles]


async def test_an_admin_adds_an_agent_who_then_signs_in_with_the_shown_password(console: Console) -> None:
    admin = await console.page_of("admin", "pw-admin")
    await admin.goto(f"{console.base}/admin/users")
    form = admin.locator("#add-user")
    await form.locator("input[name=login]").fill("zhang.wei")
    await form.locator("input[name=name]").fill("张伟")
    await form.locator("select[name=role]").select_option("agent")
    await form.locator("input[name=queues][value=general]").check()
    await form.locator("input[name=languages][value=zh]").check()
    async with admin.expect_navigation():
        await form.locator("button[type=submit]").click()
    password = (await admin.locator("#new-password").inner_text()).strip()
    assert "张伟" in await admin.locator("#user-zhang\\.wei").inner_text()
    await screenshot(admin, console.shots / "users-added.png")

    agent = await console.page_of("zhang.wei", password)
    assert agent.url == f"{console.base}/agent"
    assert admin.blocked == []
    assert agent.blocked == []


async def test_the_console_reads_in_both_languages(console: Console) -> None:
    page = await console.page_of("supervisor", "pw-supervisor")
    for language in ("zh", "en"):
        await switch_language(page, language)
        await page.goto(f"{console.base}/supervisor")
        assert await page.locator("html").get_attribute("lang") == language
        shown = await page.locator('header nav[aria-label="Console"] a').all_inner_texts()
        assert shown == nav_labels(language, "supervisor")
        if language == "zh":
            assert all(re.search("[\u4e00-\u9fff]", label) for label in shown), shown
        await screenshot(page, console.shots / f"supervisor.{language}.png")
    assert "Supervisor" in shown  # English is the source text

    # The choice is the user's, not the browser's: chosen here, it holds on another one.
    await switch_language(page, "zh")
    elsewhere = await console.page_of("supervisor", "pw-supervisor")
    assert await elsewhere.locator("html").get_attribute("lang") == "zh"
    assert page.blocked == []
    assert elsewhere.blocked == []


# Socket pushes cross a loaded CI machine: wait for them generously.
PUSH = 10_000


async def test_an_agent_in_chinese_logs_a_complaint_from_the_pop_and_moves_it_on(
    console: Console, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:  # the admin gave agent1 the VIP line
        await save_user(
            session, "agent1", "pw-agent1", role="agent", skills=("general", "vip"), languages=("zh", "en")
        )
    caller = await create(
        console.http, console.staff, name="王芳", phones=["13800000001"], tier="vip", language="zh"
    )
    earlier = (await lodge(console.http, console.staff, caller["id"]))["ticket"]

    agent = await console.page_of("agent1", "pw-agent1")
    await switch_language(agent, "zh")
    await agent.locator("#connection.live").wait_for(timeout=PUSH)
    await agent.click("#availability button[value=available]")
    await agent.locator("#state[data-state=available]").wait_for(timeout=PUSH)

    decision = await call(console.http, "j-1", "+86 138 0000 0001")
    assert decision["agent"] == "agent1", decision
    card = agent.locator("#call-j-1")
    await card.locator(".caller-name", has_text="王芳").wait_for(timeout=PUSH)  # before answering
    assert await card.locator(".caller-tier").inner_text() == "VIP"
    complaints = card.locator(".open-complaints")
    assert "未结投诉" in await complaints.inner_text()
    assert earlier in await complaints.inner_text()

    await card.locator("form.complaint input[name=description]").fill("宽带三天没网")
    await card.locator("form.complaint button").click()
    note = card.locator(".ticket-note")
    await note.wait_for(timeout=PUSH)
    told = await note.inner_text()
    assert "请读给来电客户" in told
    ticket = next(word for word in told.split() if word.startswith("CD-"))
    link = complaints.locator(f'a[href="/complaints/{ticket}"]')
    await screenshot(agent, console.shots / "agent-pop.zh.png")

    async with agent.expect_navigation():
        await link.click()
    assert agent.url == f"{console.base}/complaints/{ticket}"
    async with agent.expect_navigation():
        await agent.locator("#moves form.move:has(input[name=to][value=acknowledged]) button").click()
    assert await agent.locator("#state").inner_text() == "已受理"
    await agent.locator("#timeline li", has_text="已受理").wait_for()
    await screenshot(agent, console.shots / "complaint-moved.zh.png")
    assert agent.blocked == []


async def test_a_supervisor_finds_the_customer_and_approves_the_compensation_waiting(
    console: Console, sessions: async_sessionmaker[AsyncSession]
) -> None:
    cid = await investigating(console.http, console.staff, "13800000101", "en")
    waiting = await resolve(console.http, console.staff.agent, cid, "500", "bill credit")  # above 200
    ticket = (await waiting.json())["ticket"]
    assert await resolved_messages(sessions) == []

    supervisor = await console.page_of("supervisor", "pw-supervisor")
    await switch_language(supervisor, "en")
    await supervisor.goto(f"{console.base}/customers")
    search = supervisor.locator("form.search input[name=q]")
    await search.fill("+86 138-0000-0101")
    async with supervisor.expect_navigation():  # a phone names one customer: the profile opens
        await search.press("Enter")
    assert "Emily" in await supervisor.locator("#identity").inner_text()
    assert ticket in await supervisor.locator("#open-complaints").inner_text()

    await supervisor.goto(f"{console.base}/complaints/escalations")
    row = supervisor.locator("#waiting-approval tr", has_text=ticket)
    assert "500" in await row.locator(".offered").inner_text()
    await screenshot(supervisor, console.shots / "escalations.en.png")
    async with supervisor.expect_navigation():
        await row.locator("button[value=approve]").click()
    assert ticket not in await supervisor.locator("#waiting-approval").inner_text()

    await supervisor.goto(f"{console.base}/complaints/{ticket}")
    assert await supervisor.locator("#state").inner_text() == "Resolved"
    assert await resolved_messages(sessions) == [
        f"Ticket {ticket} is resolved: replaced the router\nCompensation: CNY 500.00 (bill credit)\n"
        "Are you satisfied with the resolution?"
    ]
    assert supervisor.blocked == []


async def test_a_supervisor_watches_a_call_ring_and_be_answered_on_the_wallboard(console: Console) -> None:
    # agent1 is at their desk, on no queue the caller's (the call waits for someone).
    ready = await console.http.post(
        "/agent/state",
        data={"state": "available"},
        headers={**console.staff.agent, "Accept": "application/json"},
    )
    assert ready.status == 200
    supervisor = await console.page_of("supervisor", "pw-supervisor")
    await switch_language(supervisor, "en")
    await supervisor.goto(f"{console.base}/supervisor")
    await supervisor.locator("#connection.live").wait_for(timeout=PUSH)
    general = supervisor.locator("#wb-queues tr[data-queue=general]")
    assert await general.locator(".waiting-count").inner_text() == "0"
    assert await general.locator(".answered").inner_text() == "0"
    agent = supervisor.locator("#wb-agents tr[data-agent=agent1]")
    assert await agent.locator(".state").inner_text() == "Available"

    decision = await call(console.http, "wall-1", "+86 139 0000 0001")  # nobody knows this caller
    assert decision["queue"] == "general", decision
    # No reload: the socket brings the waiting call, and its wait ticks.
    await general.locator(".waiting-count", has_text="1").wait_for(timeout=PUSH)
    assert await general.locator(".offered").inner_text() == "1"
    assert re.fullmatch(r"\d+:\d\d", await general.locator(".timer").inner_text())
    await screenshot(supervisor, console.shots / "wallboard-ringing.en.png")

    answered = await console.http.post(
        "/telephony/cti",
        json={"event": "answer", "call_id": "wall-1", "agent": "agent1"},
        headers={"Authorization": f"Bearer {CTI_TOKEN}"},
    )
    assert answered.status == 200
    await general.locator(".answered", has_text="1").wait_for(timeout=PUSH)
    assert await general.locator(".waiting-count").inner_text() == "0"
    await agent.locator(".state", has_text="On a call").wait_for(timeout=PUSH)
    await screenshot(supervisor, console.shots / "wallboard-answered.en.png")
    assert supervisor.blocked == []
