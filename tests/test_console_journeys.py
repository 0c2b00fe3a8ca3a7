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
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.console_pages import PAGES
from callcenter.settings import Settings
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

skip_without_chromium()


@dataclass
class Console:
    """A running console and a browser to open it with."""

    base: str
    browser: Any
    shots: Path

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
    async with TestClient(TestServer(create_app(settings))) as client, async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            yield Console(str(client.make_url("")).rstrip("/"), browser, tmp_path)
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
