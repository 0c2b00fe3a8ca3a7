"""Driving the console's forms as a browser would: read the CSRF token, post the form."""

from __future__ import annotations

import re
from collections.abc import Mapping

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

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
