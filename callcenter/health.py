"""`GET /healthz`: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from sqlalchemy import text

from callcenter.keys import ENGINE

log = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    try:
        async with asyncio.timeout(2):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure to answer is "down" for a health check
        log.warning("health check: database unreachable (%s)", type(error).__name__)
        return web.json_response({"status": "down", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok", "database": engine.dialect.name})


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
