"""Doors guarded by one operator-configured secret (the PBX's CTI token, Rasa's action token).

The secret comes as `Authorization: Bearer <token>` or as `?token=<token>`: Zammad's PBX
scripts and Rasa's `action_endpoint` both put it in the URL, since neither can set a header.
An unset secret refuses everyone: a door left unconfigured is closed, not open."""

from __future__ import annotations

import hmac

from aiohttp import web

from callcenter.web_errors import json_error


def presented_token(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        token = request.query.get("token", "")
    return token.strip()


def same_secret(presented: str, expected: str | None) -> bool:
    """Whether a presented secret (a header's, a query's, a path's) is the configured one."""
    if not expected:
        return False
    # Constant time, so the answer's timing does not tell how much of a guess was right.
    return hmac.compare_digest(presented.encode(), expected.encode())


def token_matches(request: web.Request, expected: str | None) -> bool:
    return same_secret(presented_token(request), expected)


def refused(setting: str) -> web.Response:
    """The 401 for a missing or wrong token, naming the setting that holds the right one."""
    response = json_error(
        401, "unauthenticated", f"send ?token=<{setting}> or Authorization: Bearer <{setting}>"
    )
    response.headers["WWW-Authenticate"] = "Bearer"
    return response
