"""Screenshots of every console page, in Chinese and in English, at an agent's 1280×720.

    .venv/bin/python docs/screenshots/take.py
        starts its own server on a fresh SQLite database with the demo data
    .venv/bin/python docs/screenshots/take.py --url http://127.0.0.1:8080 \\
        --password agent1=… --password supervisor=… --password admin=…
        against a running `make run` (the passwords `contactdesk demo` printed)

Signs in as each demo user through the sign-in form, switches language with the header's
control, and saves `<page>.<language>.png` beside this file for every page in the
navigation bar (each taken as the first demo user whose role opens it) and in DETAILS.
On its own server it first has agent1 offer a compensation above the approval limit on the
demo's case under investigation (the escalations page then has one to approve), places the
calls of the last hour through the CTI webhook with their times (the supervisor's wallboard
then has figures), runs the tier review (the tiers page has proposals) and rings agent1 with a
call from the demo's VIP (the agent page's pop)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from callcenter.console_pages import PAGES  # noqa: E402
from handlers.demo import USERS  # noqa: E402
from templates.i18n import CONSOLE_LANGUAGES  # noqa: E402
from tests.browser_steps import launch, new_page, screenshot, sign_in, switch_language  # noqa: E402

# The demo users, in the order their pages are taken (an agent's first).
ROLES = {login: role for login, role, *_ in USERS}
# Pages reached from a list rather than the bar, as (login, path, file name); a path ending
# in `/*` is the first link of that list's page. Customer 1 is the demo's first (a VIP).
DETAILS: list[tuple[str, str, str]] = [
    ("agent1", "/complaints/*", "complaint"),
    ("supervisor", "/customers/1", "customer"),
    # The demo chat (chatting() below): 陈静 is the demo's sixth customer.
    ("supervisor", "/customers/6/conversations/1", "conversation"),
    ("supervisor", "/complaints/escalations", "escalations"),
    ("admin", "/admin/users/agent1", "user"),
    # The questionnaires (linked from the satisfaction page) and the demo's yearly survey.
    ("supervisor", "/supervisor/satisfaction/questionnaires", "questionnaires"),
    ("supervisor", "/supervisor/satisfaction/questionnaires/*", "questionnaire"),
]
# What a page shows once its socket has pushed (the pop of the demo call), waited for.
PUSHED = {"agent": ".screen-pop .caller-name"}
# The call the demo server offers agent1 (the VIP line is theirs), through the CTI webhook.
CTI_TOKEN = "screenshots"  # noqa: S105 (a throwaway server's, for this script alone)
DEMO_CALL = {"event": "newCall", "call_id": "demo-call-1", "from": "+8613800000001"}
# The last hour on the general line, for the wallboard: (call, seconds ago it was routed,
# answered (None: the caller hung up first), ended), agent2 answering.
LAST_HOUR = [
    ("demo-hour-1", 3300, 3292, 3010),
    ("demo-hour-2", 2700, 2662, 2350),
    ("demo-hour-3", 2100, None, 2065),
    ("demo-hour-4", 1500, 1494, 1220),
    ("demo-hour-5", 900, 897, 610),
    ("demo-hour-6", 420, 385, 150),
]


def name_of(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def shots() -> dict[str, list[tuple[str, str]]]:
    """For each demo user, the (path, file name) pages to take as them, each page once."""
    taken: dict[str, list[tuple[str, str]]] = {login: [] for login in ROLES}
    seen: set[str] = set()
    for login, role in ROLES.items():
        for link in PAGES:
            if role in link.roles and link.href not in seen:
                seen.add(link.href)
                taken[login].append((link.href, name_of(link.href)))
    for login, path, name in DETAILS:
        taken[login].append((path, name))
    return taken


@asynccontextmanager
async def demo_server() -> AsyncIterator[tuple[str, dict[str, str]]]:
    """A console on a fresh SQLite database holding the demo data, and the demo passwords."""
    from aiohttp.test_utils import TestServer

    from callcenter.app import create_app
    from callcenter.bootstrap import Bootstrap
    from callcenter.settings import Settings
    from handlers.complaints import escalate_due
    from handlers.demo import load_demo
    from handlers.tiers.review import run_review
    from storage.audit import SYSTEM
    from storage.db import normalise_url
    from storage.migrate import upgrade_sync
    from storage.models.base import utcnow

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=f"sqlite:///{folder}/demo.db", cti_token=CTI_TOKEN)
        await asyncio.to_thread(upgrade_sync, normalise_url(settings.database_url))
        boot = Bootstrap(settings)
        async with boot.command_session() as session:
            passwords = await load_demo(session)
            await compensation_waiting(session)
            await chatting(session)
            # The deadline worker's first pass, as `make run` makes it on starting (this server
            # runs no workers): the demo's overdue complaints have their alerts.
            await escalate_due(session)
            # The tier worker's first pass too: the demo's proposals wait on /supervisor/tiers.
            await run_review(session, SYSTEM, boot.policies.tiers, utcnow())
        server = TestServer(create_app(boot=boot))
        await server.start_server()
        try:
            base = str(server.make_url("")).rstrip("/")
            await last_hour(base)
            await ring(base)
            yield base, passwords
        finally:
            await server.close()


async def chatting(session: Any) -> None:
    """A Telegram customer of the demo (陈静) in a chat agent1 holds, a reply delivered and
    the customer's answer, for the agent page's chat panel."""
    from datetime import timedelta

    from sqlalchemy import select

    from storage import inbox
    from storage.models import Customer
    from storage.models.base import utcnow
    from storage.users import get_by_login

    agent = await get_by_login(session, "agent1")
    customer_id = await session.scalar(select(Customer.id).where(Customer.name == "陈静"))
    if agent is None or customer_id is None:
        print("no demo customer 陈静: no chat", file=sys.stderr)
        return
    now = utcnow()
    started = now - timedelta(minutes=4)
    new = inbox.NewConversation(
        customer_id, "telegram", "7100000006", "general", 0, "default", (), "zh", started
    )
    conversation_id = await inbox.insert(session, new)
    assert conversation_id is not None  # noqa: S101 - a fresh database
    await inbox.assign(session, conversation_id, agent.id, started, from_states=("waiting",))
    for minutes, direction, text, delivery in (
        (4, "in", "你好，我的宽带从昨天开始很慢", None),
        (3, "out", "您好，我正在为您查询线路情况，请稍等。", "sent"),
        (1, "in", "好的，谢谢。路由器已经重启过了", None),
    ):
        author = agent.id if direction == "out" else None
        message = inbox.NewMessage(
            conversation_id, direction, text, now - timedelta(minutes=minutes), author, None, None, delivery
        )
        await inbox.add_message(session, message)
    await session.commit()


async def compensation_waiting(session: Any) -> None:
    """agent1 resolves the demo's case under investigation with ¥500 off the bill: above the
    default limit, it waits for a supervisor."""
    from decimal import Decimal

    from handlers.complaints import ComplaintPolicy, lifecycle
    from storage import complaints
    from storage.users import get_by_login

    agent = await get_by_login(session, "agent1")
    cases = await complaints.search(session, states=("investigating",), limit=1)
    if agent is None or not cases:
        print("no case under investigation: no compensation waits", file=sys.stderr)
        return
    await lifecycle.transition(
        session,
        agent,
        cases[0].id,
        "resolved",
        resolution="We swapped the SIM and called you back.",
        compensation="bill credit",
        compensation_amount=Decimal("500"),
        policy=ComplaintPolicy(),
    )
    await session.commit()


async def last_hour(base: str) -> None:
    """The calls of LAST_HOUR as the telephony platform reports them, each event with its time."""
    from datetime import UTC, datetime, timedelta

    from aiohttp import ClientSession

    now = datetime.now(UTC)
    headers = {"Authorization": f"Bearer {CTI_TOKEN}"}
    async with ClientSession() as http:
        for n, (call_id, routed, answered, ended) in enumerate(LAST_HOUR):
            steps = [
                ({"event": "newCall", "from": f"+86139000000{n:02d}"}, routed),
                *([({"event": "answer", "agent": "agent2"}, answered)] if answered else []),
                ({"event": "hangup"}, ended),
            ]
            for event, ago in steps:
                moment = (now - timedelta(seconds=ago)).isoformat()
                body = {**event, "call_id": call_id, "timestamp": moment}
                async with http.post(f"{base}/telephony/cti", json=body, headers=headers) as r:
                    if r.status != 200:
                        print(f"{call_id} {event['event']}: {r.status} {await r.text()}", file=sys.stderr)


async def ring(base: str) -> None:
    """Offer the demo call as the telephony platform would; routing picks the agent."""
    from aiohttp import ClientSession

    headers = {"Authorization": f"Bearer {CTI_TOKEN}"}
    async with (
        ClientSession() as http,
        http.post(f"{base}/telephony/cti", json=DEMO_CALL, headers=headers) as r,
    ):
        decision = await r.json()
    if decision.get("agent") != "agent1":
        print(f"the demo call was not offered to agent1 (no pop): {decision}", file=sys.stderr)


async def resolve(page: Any, base: str, path: str) -> str | None:
    """The path itself, or for `list/*` the first link to one of the list's pages."""
    if not path.endswith("/*"):
        return path
    listing = path.removesuffix("/*")
    await page.goto(base + listing)
    first = page.locator(f'main a[href^="{listing}/"]').first
    return await first.get_attribute("href") if await first.count() else None


async def take(base: str, passwords: dict[str, str], folder: Path) -> list[Path]:
    from playwright.async_api import TimeoutError as PlaywrightTimeout
    from playwright.async_api import async_playwright

    saved: list[Path] = []
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            for login, pages in shots().items():
                if not pages or login not in passwords:
                    continue
                page = await new_page(browser)
                await sign_in(page, base, login, passwords[login])
                for language in CONSOLE_LANGUAGES:
                    await page.goto(base + "/")  # home: a page with the bar's language control
                    await switch_language(page, language)
                    for wanted, name in pages:
                        path = await resolve(page, base, wanted)
                        response = await page.goto(base + path) if path else None
                        if response is None or response.status == 404:
                            print(f"no page {wanted} yet", file=sys.stderr)
                            continue
                        if name in PUSHED and await page.locator(PUSHED[name]).count() == 0:
                            try:
                                await page.locator(PUSHED[name]).first.wait_for(timeout=10_000)
                            except PlaywrightTimeout:
                                print(f"{path}: nothing pushed", file=sys.stderr)
                        await page.wait_for_timeout(300)  # the socket's first push, the polls
                        saved.append(await screenshot(page, folder / f"{name}.{language}.png"))
                await page.context.close()
        finally:
            await browser.close()
    return saved


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running console; without it, one is started on demo data")
    parser.add_argument("--password", action="append", default=[], metavar="LOGIN=PASSWORD")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    if args.url:
        passwords = dict(pair.split("=", 1) for pair in args.password)
        saved = await take(args.url.rstrip("/"), passwords, args.out)
    else:
        async with demo_server() as (base, passwords):
            saved = await take(base, passwords, args.out)
    for path in saved:
        print(path)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
