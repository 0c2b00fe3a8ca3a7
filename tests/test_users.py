"""Administering people, as an admin does it: `contactdesk user ...` and `/api/v1/users`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import Settings
from storage.routing.queues import upsert_queue
from storage.users import audit_trail, get_by_login
from tests.conftest import Staff
from tests.console_client import sign_in
from tests.test_cli import contactdesk

Client = TestClient[web.Request, web.Application]
COOKIE = "contactdesk_session"


@pytest.fixture
async def queues(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        for name in ("general", "vip"):
            await upsert_queue(session, name, description=name)
        await session.commit()


@pytest.fixture
async def app_client(settings: Settings) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


def cli(*args: str, database_url: str, tmp_path: Path) -> tuple[int, str, str]:
    result = contactdesk("user", *args, database_url=database_url, cwd=tmp_path)
    return result.returncode, result.stdout.strip(), result.stderr


async def console_home(client: Client) -> tuple[int, str]:
    response = await client.get("/agent", allow_redirects=False)
    return response.status, response.headers.get("Location", "")


async def test_a_user_added_on_the_command_line_signs_in_with_the_printed_password(
    database_url: str, app_client: Client, staff: Staff, queues: None, tmp_path: Path
) -> None:
    code, password, err = cli(
        "add", "mei", "--role", "supervisor", "--name", "Mei Lin", "--skills", "billing",
        "--languages", "zh,en", "--queues", "vip,general", "--phone", "139 0000 0009",
        "--twilio-client", "mei_desk", database_url=database_url, tmp_path=tmp_path,
    )  # fmt: skip
    assert code == 0, err
    signed_in = await sign_in(app_client, "mei", password)
    assert (signed_in.status, signed_in.headers["Location"]) == (302, "/supervisor")

    listed = await (await app_client.get("/api/v1/users", headers=staff.admin)).json()
    mei = next(u for u in listed["users"] if u["login"] == "mei")
    assert mei == {
        "login": "mei",
        "name": "Mei Lin",
        "role": "supervisor",
        "skills": ["billing"],
        "languages": ["zh", "en"],
        "queues": ["vip", "general"],
        "active": True,
        "max_chats": 3,
        "phone": "+8613900000009",
        "twilio_client": "mei_desk",
    }
    assert all("password" not in str(u) and "hash" not in str(u) for u in listed["users"])


async def test_the_command_line_refuses_a_bad_role_a_taken_login_and_an_unknown_user(
    database_url: str, staff: Staff, tmp_path: Path
) -> None:
    code, _, err = cli("add", "ann", "--role", "boss", database_url=database_url, tmp_path=tmp_path)
    assert code == 1
    assert "unknown role 'boss'" in err
    code, _, err = cli("add", "agent1", "--role", "agent", database_url=database_url, tmp_path=tmp_path)
    assert code == 1
    assert "already a user 'agent1'" in err
    code, _, err = cli("set", "nobody", "--name", "X", database_url=database_url, tmp_path=tmp_path)
    assert code == 1
    assert "no user 'nobody'" in err
    code, _, err = cli("set", "agent1", "--queues", "mars", database_url=database_url, tmp_path=tmp_path)
    assert code == 1
    assert "unknown queues: mars" in err


async def test_a_new_password_from_the_command_line_replaces_the_old_one(
    database_url: str, app_client: Client, staff: Staff, tmp_path: Path
) -> None:
    code, password, err = cli("password", "agent2", database_url=database_url, tmp_path=tmp_path)
    assert code == 0, err
    assert (await sign_in(app_client, "agent2", "pw-agent2")).status != 302
    assert (await sign_in(app_client, "agent2", password)).headers["Location"] == "/agent"


async def test_disabling_on_the_command_line_ends_an_open_session_and_the_api_token_at_once(
    database_url: str,
    app_client: Client,
    staff: Staff,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    assert (await sign_in(app_client, "agent1", "pw-agent1")).status == 302
    assert await console_home(app_client) == (200, "")
    assert (await app_client.get("/api/v1/complaints", headers=staff.agent)).status == 200

    code, _, err = cli("disable", "agent1", database_url=database_url, tmp_path=tmp_path)
    assert code == 0, err

    assert await console_home(app_client) == (303, "/login?next=/agent")
    assert (await app_client.get("/api/v1/complaints", headers=staff.agent)).status == 401
    async with sessions() as session:
        user = await get_by_login(session, "agent1")
        assert user is not None
        trail = await audit_trail(session, "user", str(user.id))
    assert [(e.action, e.via, e.actor.startswith("cli:")) for e in trail] == [("user.disable", "cli", True)]


async def test_an_admin_creates_changes_and_disables_a_user_through_the_api(
    client: Client, staff: Staff, queues: None
) -> None:
    created = await client.post(
        "/api/v1/users",
        json={"login": "li.na", "role": "agent", "skills": ["billing"], "queues": ["general"]},
        headers=staff.admin,
    )
    assert created.status == 201
    body = await created.json()
    assert body["user"]["queues"] == ["general"]
    assert len(body["password"]) >= 12
    assert (await sign_in(client, "li.na", body["password"])).headers["Location"] == "/agent"
    client.session.cookie_jar.clear()  # from here on, only the bearer tokens speak

    changed = await client.patch(
        "/api/v1/users/li.na",
        json={"role": "supervisor", "languages": ["en"], "queues": ["vip"]},
        headers=staff.admin,
    )
    assert changed.status == 200
    view = await changed.json()
    assert (view["role"], view["languages"], view["skills"], view["queues"]) == (
        "supervisor",
        ["en"],
        ["billing"],
        ["vip"],
    )

    disabled = await client.patch("/api/v1/users/agent2", json={"disabled": True}, headers=staff.admin)
    assert (disabled.status, (await disabled.json())["active"]) == (200, False)
    assert (await client.get("/api/v1/complaints", headers=staff.agent2)).status == 401

    taken = await client.post("/api/v1/users", json={"login": "li.na", "role": "agent"}, headers=staff.admin)
    assert taken.status == 409


async def test_an_agents_phone_is_stored_as_e164_once_and_answers_for_them_on_a_zammad_pbx(
    client: Client, staff: Staff
) -> None:
    set_phone = await client.patch(
        "/api/v1/users/agent1",
        json={"phone": "0086 139-0000-0001", "twilio_client": "agent1"},
        headers=staff.admin,
    )
    assert set_phone.status == 200, await set_phone.text()
    assert ((await set_phone.json())["phone"], (await set_phone.json())["twilio_client"]) == (
        "+8613900000001",
        "agent1",
    )
    taken = await client.patch("/api/v1/users/agent2", json={"phone": "13900000001"}, headers=staff.admin)
    assert (taken.status, (await taken.json())["error"]) == (409, "duplicate-phone")
    cleared = await client.patch(
        "/api/v1/users/agent1", json={"phone": "", "twilio_client": ""}, headers=staff.admin
    )
    assert ((await cleared.json())["phone"], (await cleared.json())["twilio_client"]) == (None, None)
    moved = await client.patch(
        "/api/v1/users/agent2", json={"phone": "+86 139 0000 0001"}, headers=staff.admin
    )
    assert (await moved.json())["phone"] == "+8613900000001"


async def test_only_admins_manage_users(client: Client, staff: Staff) -> None:
    for headers in (staff.agent, staff.supervisor):
        assert (await client.get("/api/v1/users", headers=headers)).status == 403
        new = {"login": "x", "role": "admin"}
        assert (await client.post("/api/v1/users", json=new, headers=headers)).status == 403
        assert (
            await client.patch("/api/v1/users/agent2", json={"role": "admin"}, headers=headers)
        ).status == 403
    assert (await client.get("/api/v1/users")).status == 401
    assert (await client.patch("/api/v1/users/agent2", json={"role": "admin"})).status == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"login": "x", "role": "boss"}, "role"),
        ({"login": "x", "role": "agent", "skills": ["juggling"]}, "skills"),
        ({"login": "x", "role": "agent", "queues": ["mars"]}, "queues"),
        ({"login": "x", "role": "agent", "languages": ["fr"]}, "languages"),
        ({"login": "x", "role": "agent", "phone": "12345"}, "phone"),
        ({"login": "x", "role": "agent", "twilio_client": "has space"}, "twilio_client"),
    ],
)
async def test_a_bad_role_skill_queue_or_language_is_a_400_naming_the_field(
    client: Client, staff: Staff, queues: None, body: dict[str, object], field: str
) -> None:
    created = await client.post("/api/v1/users", json=body, headers=staff.admin)
    assert created.status == 400
    error = await created.json()
    assert error["error"] in ("invalid-input", "validation-error"), error
    assert field in str(error)
    patched = await client.patch(
        "/api/v1/users/agent1", json={k: v for k, v in body.items() if k != "login"}, headers=staff.admin
    )
    assert patched.status == 400
    unknown = await client.patch("/api/v1/users/nobody", json={"name": "N"}, headers=staff.admin)
    assert unknown.status == 404
