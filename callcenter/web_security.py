"""What browsers are told and checked for: security headers on every response, and the
Origin of WebSocket handshakes (a cookie rides along on a cross-site socket too)."""

from __future__ import annotations

import base64
import hashlib
import re

from aiohttp import web
from yarl import URL

from callcenter.keys import SETTINGS
from templates import environment

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.DOTALL | re.IGNORECASE)

HEADERS = web.AppKey("security_headers", dict[str, str])


def inline_script_hashes() -> list[str]:
    """CSP hashes of the inline scripts in our page templates.

    Hashes rather than 'unsafe-inline': a script that slips into a page through some
    unescaped value does not run. That needs every inline script to be static text (data
    reaches scripts through the DOM or JSON), so a templated one is refused here, loudly,
    before a browser silently blocks it."""
    env = environment()
    if env.loader is None:
        raise RuntimeError("the template environment has no loader")
    hashes = []
    for name in sorted(env.list_templates(filter_func=lambda n: n.endswith(".html.j2"))):
        source = env.loader.get_source(env, name)[0]
        for attributes, body in _SCRIPT.findall(source):
            if "src=" in attributes:
                continue  # an external script from 'self'
            if "{{" in body or "{%" in body or "{#" in body:
                raise ValueError(f"{name}: an inline script must be static text to be allowed by the CSP")
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            hashes.append(f"'sha256-{digest}'")
    return hashes


def content_security_policy() -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' " + " ".join(inline_script_hashes()),
            # Inline styles are in the templates (a <style> block, a few style="" attributes).
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",  # fetch and the console's own WebSockets
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


async def _add_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in request.app[HEADERS].items():
        response.headers.setdefault(name, value)


def _origin(url: str) -> str | None:
    try:
        parsed = URL(url)
    except ValueError:
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return None
    return str(parsed.origin()).lower()


def check_origin(request: web.Request) -> None:
    """403 for a browser page from another site opening one of our sockets.

    Without an Origin header the client is not a browser (a script with a bearer token)
    and authentication alone decides."""
    given = request.headers.get("Origin")
    if given is None:
        return
    own = {_origin(f"{scheme}://{request.host}") for scheme in ("http", "https")}
    public_url = request.app[SETTINGS].public_url
    if public_url:
        own.add(_origin(public_url))
    if _origin(given) not in own - {None}:
        raise web.HTTPForbidden(
            text='{"error": "forbidden-origin", "message": "this socket is for the console\'s own pages"}',
            content_type="application/json",
        )


def setup(app: web.Application) -> None:
    """Security headers on every response: pages, JSON, errors and redirects alike."""
    headers = {
        "Content-Security-Policy": content_security_policy(),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    if (app[SETTINGS].public_url or "").lower().startswith("https://"):
        headers["Strict-Transport-Security"] = "max-age=31536000"
    app[HEADERS] = headers
    # A signal rather than a middleware: it also sees the answers aiohttp makes itself
    # (a 404 for an unknown path, a 405) and exceptions no middleware turned into responses.
    app.on_response_prepare.append(_add_headers)
