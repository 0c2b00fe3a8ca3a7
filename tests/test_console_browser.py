"""A real browser: an agent signs in, a call is answered, the caller's card appears."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import Settings
from tests.routing_fixtures import seed

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists() and os.environ.get("CI", "").lower() not in ("1", "true", "yes"):
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


async def test_the_card_appears_in_the_browser_as_the_call_is_answered(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path, sqlite_database: str
) -> None:
    from playwright.async_api import async_playwright

    if not settings.database_url.startswith("sqlite"):
        pytest.skip("one browser run is enough; the PostgreSQL path is covered by test_console")
    await seed(sessions)
    app = create_app(settings.model_copy(update={"cti_token": "t"}))
    async with TestClient(TestServer(app)) as client, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page()
            await page.goto(str(client.make_url("/login")))
            await page.fill("input[name=login]", "agent1")
            await page.fill("input[name=password]", "pw")
            await page.click("button[type=submit]")
            await page.wait_for_url("**/agent")
            await page.wait_for_selector("text=live")

            await client.post(
                "/telephony/cti",
                json={"event": "newCall", "call_id": "b-1", "from": "13800000001"},
                headers={"Authorization": "Bearer t"},
            )
            await client.post(
                "/telephony/cti",
                json={"event": "answer", "call_id": "b-1", "agent": "agent1"},
                headers={"Authorization": "Bearer t"},
            )
            card = page.locator("#call-b-1 .caller-name")
            await card.wait_for(timeout=10_000)
            assert "vip" in (await card.inner_text())
            await page.screenshot(path=str(tmp_path / "agent-console.png"), full_page=True)
        finally:
            await browser.close()
