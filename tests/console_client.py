"""Driving the console's forms as a browser would: read the CSRF token, post the form."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from callcenter.agent_dispatch import AGENT_DISPATCH

Client = TestClient[web.Request, web.Application]


def csrf_in(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


async def sign_in(
    client: Client, login: str, password: str, headers: Mapping[str, str] | None = None
) -> ClientResponse:
    csrf = csrf_in(await (await client.get("/login")).text())
    return await client.post(
        "/login",
        data={"login": login, "password": password, "csrf": csrf},
        headers=headers,
        allow_redirects=False,
    )


# The telephony platform's side: calls offered, answered and hung up through the CTI webhook.
CTI_TOKEN = "cti-secret"
CTI = {"Authorization": f"Bearer {CTI_TOKEN}"}


async def call(client: Client, call_id: str, caller: str, agent: str | None = None) -> dict[str, Any]:
    """A new call from `caller` (answered by `agent` when given): routing's decision."""
    response = await client.post(
        "/telephony/cti", json={"event": "newCall", "call_id": call_id, "from": caller}, headers=CTI
    )
    decision = dict(await response.json())
    if agent:
        await client.post(
            "/telephony/cti", json={"event": "answer", "call_id": call_id, "agent": agent}, headers=CTI
        )
    return decision


async def hang_up(client: Client, call_id: str) -> None:
    await client.post("/telephony/cti", json={"event": "hangup", "call_id": call_id}, headers=CTI)


async def still_registered(app: web.Application) -> dict[str, int]:
    """The agent sockets per login that the app's event dispatcher still holds, once the
    server's side of the closed ones has ended (it ends just after the browser's; waited for
    up to 5 s, a hang guard)."""
    inboxes = app[AGENT_DISPATCH].inboxes
    for _ in range(500):
        if not inboxes:
            break
        await asyncio.sleep(0.01)
    return {login: len(held) for login, held in inboxes.items()}
