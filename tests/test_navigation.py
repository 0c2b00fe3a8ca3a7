"""Getting around the console: `/` and the login form send each user home or back where they
were going, strangers meet the login form rather than JSON, and one bar lists what a role opens."""

from __future__ import annotations

import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.conftest import Staff
from tests.console_client import csrf_in, sign_in

Client = TestClient[web.Request, web.Application]

PAGES = (
    "/agent",
    "/complaints",
    "/customers",
    "/complaints/escalations",
    "/supervisor",
    "/supervisor/campaigns",
    "/supervisor/satisfaction",
    "/supervisor/tiers",
    "/supervisor/audit",
)
SUPERVISOR_PAGES = PAGES[3:]


def nav_links(page: str) -> list[str]:
    bar = page.split('<nav aria-label="Console">')[1].split("</nav>")[0]
    return re.findall(r'<a href="([^"]+)"', bar)


async def location(client: Client, path: str) -> tuple[int, str]:
    response = await client.get(path, allow_redirects=False)
    return response.status, response.headers.get("Location", "")


async def sign_in_going_to(client: Client, login: str, password: str, going: str) -> tuple[int, str]:
    form = await (await client.get("/login", params={"next": going})).text()
    response = await client.post(
        "/login",
        data={"login": login, "password": password, "csrf": csrf_in(form), "next": going},
        allow_redirects=False,
    )
    return response.status, response.headers.get("Location", "")


async def test_the_root_sends_strangers_to_the_login_form(client: Client) -> None:
    assert await location(client, "/") == (303, "/login")


@pytest.mark.parametrize(("login", "home"), [("agent1", "/agent"), ("supervisor", "/supervisor")])
async def test_the_root_sends_a_signed_in_user_home(
    client: Client, staff: Staff, login: str, home: str
) -> None:
    await sign_in(client, login, "pw-" + login)
    assert await location(client, "/") == (303, home)


@pytest.mark.parametrize("path", PAGES)
async def test_a_signed_out_browser_is_sent_to_the_login_form_and_back(client: Client, path: str) -> None:
    assert await location(client, path) == (303, f"/login?next={path}")


async def test_a_browser_asking_for_html_gets_the_login_form_where_a_script_gets_json(client: Client) -> None:
    browser = await client.get(
        "/agent/calls/c1/card", headers={"Accept": "text/html,*/*;q=0.8"}, allow_redirects=False
    )
    assert (browser.status, browser.headers["Location"]) == (303, "/login?next=/agent/calls/c1/card")
    script = await client.get("/api/v1/complaints", headers={"Accept": "text/html"})
    assert script.status == 401
    assert (await script.json())["error"] == "unauthenticated"


async def test_signing_in_returns_to_the_page_asked_for(client: Client, staff: Staff) -> None:
    going = "/supervisor/audit?actor=agent1"
    assert await sign_in_going_to(client, "supervisor", "pw-supervisor", going) == (302, going)


@pytest.mark.parametrize(
    "going", ["//evil.example", "https://evil.example/", "/\\evil.example", "/\t/evil.example", "agent"]
)
async def test_signing_in_never_leaves_the_site(client: Client, staff: Staff, going: str) -> None:
    form = await (await client.get("/login", params={"next": going})).text()
    assert 'name="next"' not in form
    assert await sign_in_going_to(client, "agent1", "pw-agent1", going) == (302, "/agent")


async def test_a_failed_sign_in_keeps_where_the_user_was_going(client: Client, staff: Staff) -> None:
    form = await (await client.get("/login", params={"next": "/supervisor/audit"})).text()
    failed = await client.post(
        "/login",
        data={"login": "supervisor", "password": "wrong", "csrf": csrf_in(form), "next": "/supervisor/audit"},
    )
    assert failed.status == 401
    assert '<input type="hidden" name="next" value="/supervisor/audit">' in await failed.text()


@pytest.mark.parametrize("path", SUPERVISOR_PAGES)
async def test_an_agent_on_a_supervisor_page_gets_a_page_with_the_way_home(
    client: Client, staff: Staff, path: str
) -> None:
    await sign_in(client, "agent1", "pw-agent1")
    response = await client.get(path)
    assert response.status == 403
    assert response.content_type == "text/html"
    page = await response.text()
    assert "This page is not for your role" in page
    assert '<a href="/agent">Back to your home page</a>' in page


async def test_an_agent_sees_only_the_agents_pages_in_the_bar(client: Client, staff: Staff) -> None:
    await sign_in(client, "agent1", "pw-agent1")
    page = await (await client.get("/agent")).text()
    assert nav_links(page) == ["/agent", "/complaints", "/customers"]
    assert '<a href="/agent" aria-current="page">Agent</a>' in page
    assert 'id="who">agent1' in page
    assert 'action="/logout"' in page


@pytest.mark.parametrize("login", ["supervisor", "admin"])
@pytest.mark.parametrize("path", PAGES)
async def test_managers_see_every_page_in_the_bar_on_every_page(
    client: Client, staff: Staff, login: str, path: str
) -> None:
    await sign_in(client, login, "pw-" + login)
    response = await client.get(path)
    assert response.status == 200
    managers_bar = ["/agent", "/complaints", "/complaints/escalations", "/customers", *SUPERVISOR_PAGES[1:]]
    page = await response.text()
    assert nav_links(page) == managers_bar + (["/admin/users"] if login == "admin" else [])
    # One link is the page the user is on, the one that names the most of its path.
    bar = page.split('<nav aria-label="Console">')[1].split("</nav>")[0]
    assert bar.count('aria-current="page"') == 1
    assert f'<a href="{path}" aria-current="page">' in page


async def test_signing_out_from_the_bar_ends_the_session(client: Client, staff: Staff) -> None:
    await sign_in(client, "supervisor", "pw-supervisor")
    page = await (await client.get("/supervisor/satisfaction")).text()
    bar = page.split('<header class="topbar">')[1].split("</header>")[0]
    signed_out = await client.post("/logout", data={"csrf": csrf_in(bar)}, allow_redirects=False)
    assert (signed_out.status, signed_out.headers["Location"]) == (302, "/login")
    assert await location(client, "/supervisor") == (303, "/login?next=/supervisor")
