"""`/admin/users` as an admin uses it in the browser: add a person and hand them the password
shown once, change them, give a new password, disable them; refused forms say why."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import Settings
from storage.routing.queues import upsert_queue
from storage.users import audit_trail, get_by_login
from tests.conftest import Staff
from tests.console_client import csrf_in, sign_in

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def queues(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        for name in ("general", "vip"):
            await upsert_queue(session, name, description=name)
        await session.commit()


async def browser(settings: Settings, language: str) -> Client:
    configured = settings.model_copy(update={"console_language": language})
    return TestClient(TestServer(create_app(configured)))


@pytest.fixture
async def admin(settings: Settings, staff: Staff, queues: None) -> AsyncIterator[Client]:
    """An admin's browser on the English console."""
    async with await browser(settings, "en") as client:
        assert (await sign_in(client, "admin", "pw-admin")).status == 302
        yield client


async def post_form(client: Client, path: str, fields: dict[str, object]) -> tuple[int, str]:
    """Post a form of the page at `path` (reading its CSRF token first), as the browser does."""
    page = await (await client.get(path.removesuffix("/password").removesuffix("/disable"))).text()
    data: list[tuple[str, str]] = [("csrf", csrf_in(page))]
    for key, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            data.append((key, str(one)))
    response = await client.post(path, data=data, allow_redirects=True)
    return response.status, await response.text()


def shown_password(page: str) -> str:
    found = re.search(r'id="new-password">([^<]+)<', page)
    assert found is not None, "no password on the page"
    return found.group(1)


def row_of(page: str, login: str) -> str:
    return page.split(f'id="user-{login}"')[1].split("</tr>")[0]


async def test_an_added_agent_signs_in_with_the_password_shown_once(
    admin: Client, settings: Settings
) -> None:
    status, page = await post_form(
        admin,
        "/admin/users",
        {"login": "li.na", "role": "agent", "name": "Li Na", "skills": "billing", "languages": ["zh", "en"],
         "queues": ["general", "vip"]},
    )  # fmt: skip
    assert status == 200
    assert "li.na is added" in page
    password = shown_password(page)
    assert re.sub(r"\s+", " ", row_of(page, "li.na")).count("Agent") == 1
    assert "Billing" in row_of(page, "li.na")
    assert "Chinese, English" in row_of(page, "li.na")

    listed = await (await admin.get("/admin/users")).text()
    assert password not in listed  # shown once, on the answer to the form
    async with await browser(settings, "en") as newcomer:
        signed_in = await sign_in(newcomer, "li.na", password)
        assert (signed_in.status, signed_in.headers["Location"]) == (302, "/agent")


async def test_a_taken_login_is_refused_with_the_form_kept(admin: Client) -> None:
    status, page = await post_form(
        admin,
        "/admin/users",
        {"login": "agent1", "role": "supervisor", "name": "Second Agent", "queues": "vip"},
    )
    assert status == 409
    assert "There is already a user “agent1”. Choose another login." in page
    form = page.split('id="add-user"')[1].split("</form>")[0]
    assert 'value="agent1"' in form
    assert 'value="Second Agent"' in form
    assert '<option value="supervisor" selected>' in form
    assert 'value="vip" checked' in form


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"login": "x", "role": "boss"}, "Choose a role: agent, supervisor or administrator."),
        ({"login": "x", "role": "agent", "queues": "mars"}, "Unknown queues: mars. Choose from the list."),
        ({"login": "Not A Login", "role": "agent"}, "A login is 1 to 64 lower-case letters"),
        ({"login": "x", "role": "agent", "phone": "12345"}, "This is not a phone number we can read."),
        ({"login": "x", "role": "agent", "twilio_client": "a b"}, "A Twilio Client identity is 1 to 128"),
    ],
)
async def test_bad_input_says_what_to_fix(admin: Client, fields: dict[str, object], message: str) -> None:
    status, page = await post_form(admin, "/admin/users", fields)
    assert status == 400
    assert message in page
    assert f'value="{fields["login"]}"' in page


async def test_an_agents_phone_is_shown_as_e164_and_given_to_one_agent_only(admin: Client) -> None:
    status, page = await post_form(
        admin, "/admin/users/agent1", {"role": "agent", "phone": "139 0000 0001", "twilio_client": "desk_1"}
    )
    assert status == 200
    assert 'value="+8613900000001"' in page
    assert 'value="desk_1"' in page
    assert "+8613900000001" in row_of(await (await admin.get("/admin/users")).text(), "agent1")
    status, page = await post_form(
        admin, "/admin/users/agent2", {"role": "agent", "phone": "+86 139 0000 0001"}
    )
    assert status == 409
    assert "Another user already has this phone." in page


async def test_an_admin_changes_a_user_and_gives_a_new_password(admin: Client, settings: Settings) -> None:
    status, page = await post_form(
        admin,
        "/admin/users/agent2",
        {"role": "supervisor", "name": "Wang Fang", "languages": "en", "queues": "vip"},
    )
    assert status == 200
    assert "Saved." in page
    listed = await (await admin.get("/admin/users")).text()
    row = row_of(listed, "agent2")
    assert "Wang Fang" in row
    assert "Supervisor" in row
    assert "English" in row
    assert "VIP" in row

    status, page = await post_form(admin, "/admin/users/agent2", {"role": "agent", "queues": "mars"})
    assert status == 400
    assert "Unknown queues: mars." in page
    assert '<option value="agent" selected>' in page

    status, page = await post_form(admin, "/admin/users/agent2/password", {})
    assert status == 200
    password = shown_password(page)
    async with await browser(settings, "en") as agent:
        assert (await sign_in(agent, "agent2", "pw-agent2")).status == 401
        assert (await sign_in(agent, "agent2", password)).headers["Location"] == "/supervisor"


async def test_disabling_asks_first_then_ends_the_open_session_at_once(
    admin: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with await browser(settings, "en") as agent:
        assert (await sign_in(agent, "agent1", "pw-agent1")).status == 302
        assert (await agent.get("/agent", allow_redirects=False)).status == 200

        status, page = await post_form(admin, "/admin/users/agent1/disable", {})
        assert status == 200
        assert "Disable agent1?" in page
        assert (await agent.get("/agent", allow_redirects=False)).status == 200  # not yet

        status, page = await post_form(admin, "/admin/users/agent1/disable", {"confirmed": "yes"})
        assert status == 200
        assert "agent1 is disabled; their sessions have ended." in page
        assert "Disabled" in row_of(page, "agent1")
        refused = await agent.get("/agent", allow_redirects=False)
        assert (refused.status, refused.headers["Location"]) == (303, "/login?next=/agent")

    async with sessions() as session:
        user = await get_by_login(session, "agent1")
        assert user is not None
        assert not user.active
        trail = await audit_trail(session, "user", str(user.id))
    assert [(e.action, e.via, e.actor) for e in trail] == [("user.disable", "console", "admin")]


async def test_a_form_without_its_csrf_token_changes_nothing(admin: Client) -> None:
    refused = await admin.post("/admin/users", data={"login": "sneaky", "role": "admin"})
    assert refused.status == 403
    refused = await admin.post("/admin/users/agent1/disable", data={"confirmed": "yes"})
    assert refused.status == 403
    assert "sneaky" not in await (await admin.get("/admin/users")).text()
    assert "agent1" in await (await admin.get("/admin/users")).text()


@pytest.mark.parametrize("login", ["supervisor", "agent1"])
async def test_only_admins_open_the_page(settings: Settings, staff: Staff, login: str) -> None:
    async with await browser(settings, "en") as client:
        assert (await sign_in(client, login, "pw-" + login)).status == 302
        page = await client.get("/admin/users")
        assert page.status == 403
        assert "This page is not for your role" in await page.text()
        csrf = csrf_in(await page.text())
        refused = await client.post("/admin/users", data={"csrf": csrf, "login": "x", "role": "admin"})
        assert refused.status == 403
        refused = await client.post("/admin/users/agent2/disable", data={"csrf": csrf, "confirmed": "yes"})
        assert refused.status == 403
    async with await browser(settings, "en") as stranger:
        away = await stranger.get("/admin/users", allow_redirects=False)
        assert (away.status, away.headers["Location"]) == (303, "/login?next=/admin/users")


async def test_the_page_reads_in_chinese(settings: Settings, staff: Staff, queues: None) -> None:
    async with await browser(settings, "zh") as client:
        await sign_in(client, "admin", "pw-admin")
        page = await (await client.get("/admin/users")).text()
        assert "用户" in page
        assert "添加用户" in page
        assert "坐席" in row_of(page, "agent1")  # the role as a word, never its code
        status, page = await post_form(client, "/admin/users", {"login": "agent1", "role": "agent"})
        assert status == 409
        assert "已有用户“agent1”" in page


async def test_an_unknown_user_is_a_404_on_the_users_page(admin: Client) -> None:
    page = await admin.get("/admin/users/nobody")
    assert page.status == 404
    assert "There is no user “nobody”." in await page.text()
