"""Steps a person takes in the console, in Debian's chromium through Playwright: shared by
the browser journeys (tests/test_console_journeys.py) and the screenshot script
(docs/screenshots/take.py), so both sign in and switch language the way a user does."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
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
# The screen an agent works at, beside the softphone.
SCREEN = {"width": 1280, "height": 720}


def skip_without_chromium() -> None:
    """At a browser test module's top: skip it where chromium is missing, except in CI."""
    import pytest

    if not Path(CHROMIUM).exists() and os.environ.get("CI", "").lower() not in ("1", "true", "yes"):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)


def csp_violations(page: Any) -> list[str]:
    """What the page's Content-Security-Policy blocked, as the browser reports it."""
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    return blocked


async def launch(playwright: Any) -> Any:
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


async def new_page(browser: Any) -> Any:
    """A fresh browser profile (its own cookies) at the agent's screen size."""
    context = await browser.new_context(viewport=SCREEN)
    return await context.new_page()


async def sign_in(page: Any, base: str, login: str, password: str) -> None:
    """Through the sign-in form; returns once the console has sent the user home."""
    await page.goto(f"{base}/login")
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", password)
    async with page.expect_navigation():
        await page.click("button[type=submit]")


async def switch_language(page: Any, language: str) -> None:
    """With the header's language buttons, as a user would; the choice is remembered. The
    language being shown has its button pressed (and disabled): nothing to do then."""
    button = page.locator(f'header .language-switch button[value="{language}"]')
    if await button.get_attribute("aria-pressed") == "true":
        return
    async with page.expect_navigation():
        await button.click()


async def screenshot(page: Any, path: Path) -> Path:
    """The screen as the user sees it (the 1280×720 viewport, not the whole scrolled page)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(path))
    return path
