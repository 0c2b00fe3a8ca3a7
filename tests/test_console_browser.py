"""A real browser: an agent signs in, a call is answered, the caller's card appears."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import Settings
from storage.models.base import utcnow
from tests.browser_steps import ARGS, CHROMIUM, csp_violations, skip_without_chromium
from tests.routing_fixtures import seed

skip_without_chromium()


async def test_the_card_appears_in_the_browser_as_the_call_is_answered(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """On PostgreSQL the call is routed and answered by a second instance: the pop crosses
    instances through LISTEN/NOTIFY to the browser's socket on the first."""
    from playwright.async_api import async_playwright

    await seed(sessions)
    configured = settings.model_copy(update={"cti_token": "t"})
    two = settings.database_url.startswith("postgresql")
    async with (
        TestClient(TestServer(create_app(configured))) as client,
        TestClient(TestServer(create_app(configured))) as other,
        async_playwright() as playwright,
    ):
        telephony = other if two else client
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page()
            blocked = csp_violations(page)
            await page.goto(str(client.make_url("/login")))
            await page.fill("input[name=login]", "agent1")
            await page.fill("input[name=password]", "pw")
            await page.click("button[type=submit]")
            await page.wait_for_url("**/agent")
            await page.wait_for_selector("text=live")

            await telephony.post(
                "/telephony/cti",
                json={"event": "newCall", "call_id": "b-1", "from": "13800000001"},
                headers={"Authorization": "Bearer t"},
            )
            await telephony.post(
                "/telephony/cti",
                json={"event": "answer", "call_id": "b-1", "agent": "agent1"},
                headers={"Authorization": "Bearer t"},
            )
            card = page.locator("#call-b-1 .caller-name")
            await card.wait_for(timeout=10_000)
            assert "vip" in (await card.inner_text())
            # The availability is the server's: busy with the call, pushed over the socket.
            await page.locator("#state[data-state=busy]").wait_for(timeout=10_000)
            assert await page.locator("#availability button[value=busy]").is_disabled()
            # The call timer counts from the offer.
            await page.locator("#call-b-1 .pop-head .timer", has_text="0:01").wait_for(timeout=10_000)

            # A complaint logged from the card: its ticket to read out, and the card's list.
            await page.fill("#call-b-1 form.complaint input[name=description]", "charged twice")
            await page.click("#call-b-1 form.complaint button")
            note = page.locator("#call-b-1 .ticket-note")
            await note.wait_for(timeout=10_000)
            ticket = (await page.locator("#call-b-1 .open-complaints a").first.inner_text()).strip()
            assert ticket.startswith("CD-")
            assert ticket in await note.inner_text()
            await page.screenshot(path=str(tmp_path / "agent-console.png"), full_page=True)

            await telephony.post(
                "/telephony/cti",
                json={"event": "hangup", "call_id": "b-1"},
                headers={"Authorization": "Bearer t"},
            )
            await page.locator("#call-b-1.ended").wait_for(timeout=10_000)
            await page.locator("#state[data-state=available]").wait_for(timeout=10_000)
            assert blocked == []
        finally:
            await browser.close()


async def test_a_supervisor_schedules_a_campaign_from_the_page_and_watches_it_finish(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    from handlers.accounts import save_user
    from tests.campaign_fixtures import populate
    from tests.telegram_standin import bot_api

    if not settings.database_url.startswith("sqlite"):
        pytest.skip("one browser run is enough; the PostgreSQL path is covered by the API tests")
    await populate(sessions, utcnow())
    async with sessions() as session:
        await save_user(session, "boss", "pw", role="supervisor")
    async with bot_api() as api:
        configured = settings.model_copy(
            update={
                "bot_token": "123456:TEST",
                "telegram_api_base": api.base_url,
                "telegram_chat_interval_seconds": 0.0,
                "campaign_idle_seconds": 0.05,
                "timer_interval_seconds": 3600,
            }
        )
        app = create_app(configured, run_workers=True)
        async with TestClient(TestServer(app)) as client, async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = await browser.new_page()
                blocked = csp_violations(page)
                await page.goto(str(client.make_url("/login")))
                await page.fill("input[name=login]", "boss")
                await page.fill("input[name=password]", "pw")
                await page.click("button[type=submit]")
                await page.goto(str(client.make_url("/supervisor/campaigns")))

                # The audience is counted before anything is typed, and again as it narrows
                # (ten customers; the blacklisted and the opted-out one are never counted).
                count = "#audience-count output"
                await page.locator(count, has_text=re.compile(r"^8$")).wait_for()
                assert not await page.locator("select[name=offer_code]").is_visible()
                await page.fill("input[name=name]", "Beijing survey")
                await page.select_option("select[name=kind]", "satisfaction")
                assert await page.locator("select[name=survey_kind]").is_visible()
                await page.fill("input[name=regions]", "beijing")
                await page.locator(count, has_text=re.compile(r"^3$")).wait_for()
                await page.fill("input[name=hour_from]", "0")
                await page.fill("input[name=hour_to]", "24")
                await page.click("#new-campaign button")
                await page.wait_for_url("**/supervisor/campaigns")

                row = page.locator("#campaigns tbody tr").first
                await row.locator("text=Beijing survey").wait_for()
                # The bar moves without a reload: the page polls the progress API. (A locator,
                # not wait_for_function: the page's CSP rightly forbids the eval that needs.)
                await row.locator(".percent", has_text="100%").wait_for(timeout=15_000)
                assert await row.locator("progress").evaluate("bar => bar.value") == 100
                assert await row.locator(".state").inner_text() == "Finished"  # the state as a word
                assert await row.locator(".counts").inner_text() == "3 / 3"
                await page.screenshot(path=str(tmp_path / "campaigns.png"), full_page=True)
                assert blocked == []
            finally:
                await browser.close()
    assert len(api.sent()) == 3
