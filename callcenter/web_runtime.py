"""What every web application we build (the main one, `rasa-actions`) takes from the
composition root: its settings and, from startup to cleanup, its database."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from callcenter.bootstrap import Bootstrap, Database
from callcenter.keys import ENGINE, EVENTS, REPORT_SESSIONS, SESSIONS, SETTINGS

DATABASE = web.AppKey("database", Database)


def attach(app: web.Application, boot: Bootstrap) -> None:
    app[SETTINGS] = boot.settings

    async def database(app: web.Application) -> AsyncIterator[None]:
        async with boot.database() as db:
            app[DATABASE] = db
            app[ENGINE] = db.engine
            app[SESSIONS] = db.sessions
            app[REPORT_SESSIONS] = db.reports
            app[EVENTS] = db.events
            yield

    app.cleanup_ctx.append(database)
