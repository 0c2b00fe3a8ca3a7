"""The composition root: builds the one aiohttp application that serves everything."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy.engine import make_url

from bot import setup as telegram_bot
from callcenter import (
    api_audit,
    api_campaigns,
    api_complaints,
    api_customers,
    calls,
    complaints_setup,
    console,
    console_auth,
    health,
    page_audit,
    page_campaigns,
    page_satisfaction,
    rasa_webhook,
    telephony_cti,
    telephony_twilio,
    web_security,
)
from callcenter.auth import LOADERS
from callcenter.background import stop_tasks
from callcenter.keys import ENGINE, EVENTS, METRICS, OPENAPI, RUN_WORKERS, SESSIONS, SETTINGS, WORKERS
from callcenter.metrics import Metrics
from callcenter.openapi import OpenAPI
from callcenter.settings import Settings
from callcenter.web_errors import error_middleware
from storage.db import create_engine, create_sessionmaker, is_sqlite, normalise_url
from storage.events import EventBus, InProcessBus
from storage.events_postgres import PostgresBus

log = logging.getLogger(__name__)


def _event_bus(url: str, timeout: float) -> EventBus:
    """In-process on SQLite (one process); LISTEN/NOTIFY when instances share PostgreSQL."""
    if is_sqlite(url):
        return InProcessBus()
    return PostgresBus(
        make_url(normalise_url(url)).set(drivername="postgresql").render_as_string(hide_password=False),
        timeout=timeout,
    )


async def database(app: web.Application) -> AsyncIterator[None]:
    """The engine, session factory and event bus: a cleanup context for any app we build."""
    settings = app[SETTINGS]
    engine = create_engine(
        settings.database_url,
        statement_timeout=settings.database_statement_timeout_seconds,
        connect_timeout=settings.database_connect_timeout_seconds,
    )
    app[ENGINE] = engine
    app[SESSIONS] = create_sessionmaker(engine)
    app[EVENTS] = _event_bus(settings.database_url, settings.database_connect_timeout_seconds)
    yield
    await app[EVENTS].close()
    await engine.dispose()


async def _workers(app: web.Application) -> AsyncIterator[None]:
    tasks: list[asyncio.Task[None]] = []
    if app[RUN_WORKERS]:
        for worker in app[WORKERS]:
            tasks.append(asyncio.create_task(worker(app), name=getattr(worker, "__name__", "worker")))
    yield
    await stop_tasks(tasks)


def create_app(settings: Settings | None = None, *, run_workers: bool = False) -> web.Application:
    settings = settings or Settings()
    metrics = Metrics()
    app = web.Application(middlewares=[metrics.middleware(), error_middleware])
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[OPENAPI] = OpenAPI()
    app[WORKERS] = []
    app[RUN_WORKERS] = run_workers
    app[LOADERS] = []
    app[api_customers.PROFILE_SECTIONS] = {}
    app.cleanup_ctx.append(database)

    web_security.setup(app)
    health.setup(app)
    app.router.add_get("/metrics", metrics.handle)
    app.router.add_get("/api/v1/openapi.json", app[OPENAPI].handle)
    api_customers.setup(app)
    complaints_setup.setup(app)
    api_complaints.setup(app)
    api_campaigns.setup(app)
    page_satisfaction.setup(app)
    page_campaigns.setup(app)
    api_audit.setup(app)
    page_audit.setup(app)
    calls.setup(app)
    telephony_cti.setup(app)
    telephony_twilio.setup(app)
    telegram_bot.setup(app)
    rasa_webhook.setup(app)
    console_auth.setup(app)
    console.setup(app)

    # Workers start last so that every feature's resources are open before they run.
    app.cleanup_ctx.append(_workers)
    return app
