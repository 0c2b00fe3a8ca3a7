"""The agent's chat panel in a real browser (Debian's chromium), on PostgreSQL with two
instances: a Telegram customer asks for a person through instance 1's webhook (the Bot API
stand-in), the agent's console on instance 2 shows the chat with the customer's card, the
customer's message arrives live, the agent picks a canned reply and sends it, sees it
delivered, and closes the chat; the customer gets the CSAT question."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.settings import Settings
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
from tests.inbox_fixtures import bot_app, drain, emily
from tests.routing_fixtures import seed
from tests.telegram_standin import bot_api

skip_without_chromium()

PUSH = 10_000  # ms: what arrives over the socket


@pytest.mark.postgres
async def test_an_agent_answers_and_closes_a_telegram_chat_from_the_console_of_another_instance(
    postgres_database: str,
    staff: Staff,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    tmp_path: Path,
) -> None:
    from playwright.async_api import async_playwright

    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the journeys run on PostgreSQL, as in production")
    await seed(sessions)
    async with (
        bot_api() as api,
        bot_app(settings, api) as first,
        bot_app(settings, api) as second,
        async_playwright() as playwright,
    ):
        browser = await launch(playwright)
        try:
            page = await new_page(browser)
            blocked = csp_violations(page)
            base = str(second.make_url("")).rstrip("/")
            await sign_in(page, base, "agent1", "pw")  # tests/routing_fixtures.py
            await switch_language(page, "en")
            await page.goto(f"{base}/agent")
            await page.locator("#connection.live").wait_for(timeout=PUSH)
            await asyncio.sleep(0.2)  # instance 2's LISTEN is in place
            assert await page.locator("#chat-list .none").is_visible()

            customer = emily(first, api)
            await customer.share("13800000003")
            [told] = await customer.say("/agent")
            assert told.startswith("agent1, one of our agents, is with you now")
            chat = page.locator("#chats .chat")
            await page.locator("#chat-list li", has_text="english").wait_for(timeout=PUSH)
            assert (await chat.locator(".screen-pop .caller-name").inner_text()).startswith("english")
            assert not await page.locator("#chat-list .none").is_visible()

            assert await customer.say("Is there an outage in Pudong?") == []
            await chat.locator(".msg.in .text", has_text="Is there an outage in Pudong?").wait_for(
                timeout=PUSH
            )

            # The canned replies are in the customer's language (English): one fills the box.
            await chat.locator("select.canned").select_option(index=2)
            assert await chat.locator("textarea").input_value() == "One moment please, I am looking into it."
            await chat.locator("textarea").fill("Yes, it is fixed by 18:00.")
            await chat.locator(".chat-reply button").click()
            mine = chat.locator(".msg.out", has_text="Yes, it is fixed by 18:00.")
            await mine.wait_for(timeout=PUSH)
            assert await mine.locator(".delivery").inner_text() == "Sending…"
            assert await chat.locator("textarea").input_value() == ""
            assert await drain(first) == {"sent": 1}  # instance 1's sender sends it
            assert api.sent()[-1].text == "Yes, it is fixed by 18:00."
            await mine.locator(".delivery", has_text="Sent").wait_for(timeout=PUSH)
            await screenshot(page, tmp_path / "chat.en.png")

            await chat.locator(".chat-close input[name=disposition]").fill("outage explained")
            await chat.locator(".chat-close button").click()
            await page.locator("#chat-list .none").wait_for(state="visible", timeout=PUSH)
            assert await page.locator("#chats .chat").count() == 0
            assert await drain(second) == {"sent": 1}
            question = api.sent()[-1]
            assert question.text.startswith("How satisfied are you with our service?")
            assert int(question.params["chat_id"]) == customer.user_id
            assert blocked == []
        finally:
            await browser.close()
