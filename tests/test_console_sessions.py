"""Console sessions live on the server: signing out or disabling a user ends them for good."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import Settings
from handlers.accounts import disable_user, issue_token, save_user
from storage.users import SYSTEM, Actor, audit_trail, get_by_login
from tests.console_client import csrf_in, sign_in, still_registered
from tests.routing_fixtures import seed


async def past_page_state(socket: Any) -> Any:
    """The socket's next message after the availability and queue panels it also sends:
    a pop, or the close."""
    while True:
        received = await socket.receive(timeout=5)
        if received.type != WSMsgType.TEXT or json.loads(received.data)["type"] not in (
            "agent_state",
            "queues",
        ):
            return received


Client = TestClient[web.Request, web.Application]
COOKIE = "contactdesk_session"


@pytest.fixture
async def app_client(settings: Settings) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


@pytest.fixture
async def token(sessions: async_sessionmaker[AsyncSession]) -> str:
    async with sessions() as session:
        await save_user(session, "agent1", "pw", role="agent")
        await save_user(session, "admin", "pw", role="admin")
        return await issue_token(session, "agent1")


def saved_cookie(client: Client) -> str:
    return client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value


def replay(client: Client, cookie: str) -> None:
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({COOKIE: cookie}, response_url=client.make_url("/"))


async def console_status(client: Client) -> tuple[int, str]:
    response = await client.get("/agent", allow_redirects=False)
    return response.status, response.headers.get("Location", "")


async def test_a_cookie_saved_before_signing_out_no_longer_opens_the_console(
    app_client: Client, token: str
) -> None:
    assert (await sign_in(app_client, "agent1", "pw")).status == 302
    assert await console_status(app_client) == (200, "")
    cookie = saved_cookie(app_client)
    page = await (await app_client.get("/agent")).text()
    signed_out = await app_client.post("/logout", data={"csrf": csrf_in(page)}, allow_redirects=False)
    assert (signed_out.status, signed_out.headers["Location"]) == (302, "/login")

    replay(app_client, cookie)
    assert await console_status(app_client) == (303, "/login?next=/agent")
    socket = await app_client.get("/agent/ws")
    assert socket.status == 401


async def test_a_session_opened_on_one_instance_is_ended_on_all_by_signing_out(
    settings: Settings, token: str
) -> None:
    shared = settings.model_copy(update={"session_key": "Mo8ceQkZ2bI5pSFnWqVUjV4VYJ4x8e4mH4RkF0Ckt4o="})
    async with (
        TestClient(TestServer(create_app(shared))) as one,
        TestClient(TestServer(create_app(shared))) as two,
    ):
        await sign_in(one, "agent1", "pw")
        cookie = saved_cookie(one)
        replay(two, cookie)
        assert await console_status(two) == (200, "")
        page = await (await one.get("/agent")).text()
        await one.post("/logout", data={"csrf": csrf_in(page)}, allow_redirects=False)
        assert await console_status(two) == (303, "/login?next=/agent")


async def test_disabling_a_user_ends_their_console_session_and_api_token_at_once(
    app_client: Client, token: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    bearer = {"Authorization": f"Bearer {token}"}
    await sign_in(app_client, "agent1", "pw")
    assert await console_status(app_client) == (200, "")
    assert (await app_client.get("/api/v1/complaints", headers=bearer)).status == 200
    cookie = saved_cookie(app_client)

    async with sessions() as session:
        admin = await get_by_login(session, "admin")
        assert admin is not None
        await disable_user(session, "agent1", Actor.of(admin, "cli"))

    assert await console_status(app_client) == (303, "/login?next=/agent")
    assert (await app_client.get("/api/v1/complaints", headers=bearer)).status == 401
    assert (await sign_in(app_client, "agent1", "pw")).status == 401

    # Enabled again (saved anew), the account starts clean: nothing it held before works.
    async with sessions() as session:
        await save_user(session, "agent1", "pw2", role="agent")
    replay(app_client, cookie)
    assert await console_status(app_client) == (303, "/login?next=/agent")
    assert (await app_client.get("/api/v1/complaints", headers=bearer)).status == 401


async def test_disabling_a_user_is_in_the_audit_trail(
    token: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        await disable_user(session, "agent1", SYSTEM)
    async with sessions() as session:
        agent = await save_user(session, "agent1", "pw", role="agent")
        (entry,) = await audit_trail(session, "user", agent.id)
    assert (entry.action, entry.actor, entry.via) == ("user.disable", "system", "system")
    assert entry.details == {"login": "agent1", "sessions_ended": 0, "tokens_revoked": 1}


async def test_the_session_cookie_is_secure_behind_an_https_public_url(
    settings: Settings, token: str
) -> None:
    https = settings.model_copy(update={"public_url": "https://desk.example.com"})
    async with TestClient(TestServer(create_app(https))) as client:
        form = await client.get("/login")
        assert form.cookies[COOKIE]["secure"] is True
        # The test client speaks plain http, so it would not send a Secure cookie back itself.
        signed_in = await client.post(
            "/login",
            data={"login": "agent1", "password": "pw", "csrf": csrf_in(await form.text())},
            headers={"Cookie": f"{COOKIE}={form.cookies[COOKIE].value}"},
            allow_redirects=False,
        )
    assert signed_in.status == 302
    cookie = signed_in.cookies[COOKIE]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"


async def test_the_session_cookie_is_not_marked_secure_on_plain_http(app_client: Client, token: str) -> None:
    signed_in = await sign_in(app_client, "agent1", "pw")
    assert not signed_in.cookies[COOKIE]["secure"]


async def test_signing_out_closes_the_consoles_open_socket(settings: Settings, token: str) -> None:
    quick = settings.model_copy(update={"socket_recheck_seconds": 0.2})
    async with TestClient(TestServer(create_app(quick))) as client:
        await sign_in(client, "agent1", "pw")
        page = await (await client.get("/agent")).text()
        async with client.ws_connect("/agent/ws") as socket:
            await client.post("/logout", data={"csrf": csrf_in(page)}, allow_redirects=False)
            closed = await past_page_state(socket)
        # The server closed the socket: nothing is kept for it.
        assert await still_registered(client.app) == {}
    assert (closed.type, closed.data, closed.extra) == (WSMsgType.CLOSE, 1008, "signed out")


async def test_a_disabled_agent_gets_no_further_screen_pop(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed(sessions)
    async with sessions() as session:
        bearer = {"Authorization": f"Bearer {await issue_token(session, 'agent1')}"}
    cti = {"Authorization": "Bearer cti"}
    slow = settings.model_copy(update={"cti_token": "cti", "socket_recheck_seconds": 3600})
    async with (
        TestClient(TestServer(create_app(slow))) as client,
        client.ws_connect("/agent/ws", headers=bearer) as socket,
    ):
        call = {"event": "newCall", "call_id": "d-1", "from": "13800000001"}  # VIP: agent1
        routed = await client.post("/telephony/cti", json=call, headers=cti)
        assert (await routed.json())["agent"] == "agent1"
        assert json.loads((await past_page_state(socket)).data)["type"] == "screen_pop"
        async with sessions() as session:
            await disable_user(session, "agent1", SYSTEM)
        answer = {"event": "answer", "call_id": "d-1", "agent": "agent1"}
        await client.post("/telephony/cti", json=answer, headers=cti)
        closed = await past_page_state(socket)
    assert (closed.type, closed.data) == (WSMsgType.CLOSE, 1008)
