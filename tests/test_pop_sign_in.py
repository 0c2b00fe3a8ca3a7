"""A pop is a read of the caller's record: once the agent's credential no longer stands, the
next card is neither read nor audited, and the socket closes with "signed out".

The socket's periodic check is set to an hour here, so what closes the socket is the check
made with the card itself (on PostgreSQL inside the card's one statement, storage/cards.py;
on SQLite one small statement before it, storage/sign_in_checks.py)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import Settings
from handlers.accounts import issue_token
from storage.models import ApiToken, User, UserSession
from storage.models.base import utcnow
from storage.users import audit_trail
from tests.console_client import CTI, CTI_TOKEN, csrf_in, sign_in
from tests.routing_fixtures import seed

Client = TestClient[web.Request, web.Application]
Sessions = async_sessionmaker[AsyncSession]
# How the agent's credential falls: given the test client, the database and the page's text.
Fall = Callable[[Client, Sessions, str], Awaitable[None]]
MAX_AGE = timedelta(hours=12)


async def revoke_token(client: Client, sessions: Sessions, page: str) -> None:
    async with sessions() as session:
        await session.execute(delete(ApiToken))
        await session.commit()


async def disable_in_database(client: Client, sessions: Sessions, page: str) -> None:
    """Straight in the database: the user's sessions and tokens are left as they were."""
    async with sessions() as session:
        await session.execute(update(User).where(User.login == "agent1").values(active=False))
        await session.commit()


async def sign_out(client: Client, sessions: Sessions, page: str) -> None:
    await client.post("/logout", data={"csrf": csrf_in(page)}, allow_redirects=False)


async def expire_session(client: Client, sessions: Sessions, page: str) -> None:
    """The session reaches the longest a session may live, to the second."""
    async with sessions() as session:
        await session.execute(update(UserSession).values(created_at=utcnow() - MAX_AGE))
        await session.commit()


async def cti(client: Client, event: str, call_id: str) -> None:
    body = {"event": event, "call_id": call_id, "from": "13800000001", "agent": "agent1"}  # VIP: agent1
    response = await client.post("/telephony/cti", json=body, headers=CTI)
    assert response.status == 200, await response.text()


async def next_message(socket: Any, *skipped: str) -> Any:
    while True:
        received = await socket.receive(timeout=5)
        if received.type != WSMsgType.TEXT or json.loads(received.data)["type"] not in skipped:
            return received


@pytest.mark.parametrize(
    ("door", "fall"),
    [
        ("bearer", revoke_token),
        ("bearer", disable_in_database),
        ("cookie", sign_out),
        ("cookie", expire_session),
        ("cookie", disable_in_database),
    ],
    ids=["token-revoked", "token-user-disabled", "signed-out", "session-expired", "session-user-disabled"],
)
async def test_no_card_is_read_once_the_agents_credential_falls(
    settings: Settings, sessions: Sessions, door: str, fall: Fall
) -> None:
    callers = await seed(sessions)
    slow = settings.model_copy(
        update={
            "cti_token": CTI_TOKEN,
            "socket_recheck_seconds": 3600,
            "session_max_age_seconds": int(MAX_AGE.total_seconds()),
        }
    )
    async with TestClient(TestServer(create_app(slow))) as client:
        headers: dict[str, str] = {}
        page = ""
        if door == "bearer":
            async with sessions() as session:
                headers["Authorization"] = f"Bearer {await issue_token(session, 'agent1')}"
        else:
            await sign_in(client, "agent1", "pw")
            page = await (await client.get("/agent")).text()
        async with client.ws_connect("/agent/ws", headers=headers) as socket:
            # The socket has sent what it replays once it sends the availability.
            await next_message(socket, "queues")
            await cti(client, "newCall", "p-1")
            pop = json.loads((await next_message(socket, "agent_state", "queues")).data)
            assert (pop["type"], pop["call_id"], pop["customer"]["id"]) == ("screen_pop", "p-1", callers.vip)

            await fall(client, sessions, page)
            await cti(client, "answer", "p-1")  # the card is pushed again when the call is answered
            closed = await next_message(socket, "agent_state", "queues")
        assert (closed.type, closed.data, closed.extra) == (WSMsgType.CLOSE, 1008, "signed out")
    async with sessions() as session:
        read = [e for e in await audit_trail(session, "call", "p-1") if e.action == "customer.card"]
    assert [(e.actor, e.customer_id) for e in read] == [("agent1", callers.vip)]  # before, none after
