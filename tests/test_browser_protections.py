"""What a hostile page in the same browser cannot do: frame the console, run injected
script, open the agent's socket from another site, or post a form without its CSRF token."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import Settings
from handlers.accounts import save_user
from tests.conftest import Staff
from tests.console_client import sign_in

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def app_client(settings: Settings) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


def assert_protected(response: aiohttp.ClientResponse) -> None:
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'self'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]


async def test_every_answer_tells_the_browser_not_to_frame_sniff_or_leak_it(
    app_client: Client, staff: Staff
) -> None:
    for path, headers in (
        ("/login", {}),
        ("/healthz", {}),
        ("/api/v1/complaints", staff.agent),
        ("/api/v1/complaints", {}),  # a 401
        ("/no-such-page", {}),  # aiohttp's own 404
        ("/agent", {}),  # a redirect
    ):
        response = await app_client.get(path, headers=headers, allow_redirects=False)
        assert_protected(response)


async def test_behind_an_https_public_url_browsers_are_told_to_keep_to_https(
    settings: Settings, app_client: Client
) -> None:
    assert "Strict-Transport-Security" not in (await app_client.get("/login")).headers
    https = settings.model_copy(update={"public_url": "https://desk.example.com"})
    async with TestClient(TestServer(create_app(https))) as client:
        response = await client.get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


async def test_the_consoles_own_scripts_are_allowed_to_run(
    app_client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        await save_user(session, "boss", "pw", role="supervisor")
    await sign_in(app_client, "boss", "pw")
    for path in ("/supervisor", "/supervisor/campaigns"):
        response = await app_client.get(path)
        assert response.status == 200
        scripts = re.findall(r"<script>(.*?)</script>", await response.text(), re.DOTALL)
        assert scripts
        policy = response.headers["Content-Security-Policy"]
        for script in scripts:
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in policy


async def test_a_page_on_another_site_cannot_open_the_agents_socket_but_the_console_can(
    app_client: Client, staff: Staff
) -> None:
    own = str(app_client.make_url("/")).rstrip("/")
    for path, headers in (("/agent/ws", staff.agent), ("/supervisor/ws", staff.supervisor)):
        for foreign in ("https://evil.example", "null", own.replace("127.0.0.1", "localhost")):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await app_client.ws_connect(path, headers={**headers, "Origin": foreign})
            assert refused.value.status == 403
        async with app_client.ws_connect(path, headers={**headers, "Origin": own}) as socket:
            assert not socket.closed
        # No Origin: not a browser but a script with its token, which decides alone.
        async with app_client.ws_connect(path, headers=headers) as socket:
            assert not socket.closed


async def test_the_public_urls_origin_may_open_the_socket(settings: Settings, staff: Staff) -> None:
    behind_proxy = settings.model_copy(update={"public_url": "https://desk.example.com/"})
    async with TestClient(TestServer(create_app(behind_proxy))) as client:
        headers = {**staff.agent, "Origin": "https://desk.example.com"}
        async with client.ws_connect("/agent/ws", headers=headers) as socket:
            assert not socket.closed
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(
                "/agent/ws", headers={**staff.agent, "Origin": "http://desk.example.com:81"}
            )
        assert refused.value.status == 403


async def test_a_cookie_form_post_with_a_made_up_bearer_header_still_needs_its_csrf_token(
    app_client: Client, staff: Staff
) -> None:
    await sign_in(app_client, "agent1", "pw-agent1")
    forged = await app_client.post(
        "/agent/state",
        data={"state": "available"},
        headers={"Authorization": "Bearer x"},
        allow_redirects=False,
    )
    assert forged.status == 403
    page = await (await app_client.get("/agent")).text()
    assert '<strong id="state" data-state="offline">' in page
