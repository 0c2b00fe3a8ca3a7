"""Typed application keys: the state each aiohttp application carries (no singletons)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from callcenter.metrics import Metrics
from callcenter.openapi import OpenAPI
from callcenter.settings import Settings
from handlers.campaigns import Channel
from storage.events import EventBus

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
METRICS = web.AppKey("metrics", Metrics)
OPENAPI = web.AppKey("openapi", OpenAPI)
EVENTS = web.AppKey("events", EventBus)

# Background loops (campaign dispatch, deadline timers) that features register; they
# run inside `serve` unless --no-worker, and alone in `contactdesk worker`.
Worker = Callable[[web.Application], Coroutine[Any, Any, None]]
WORKERS = web.AppKey("workers", list[Worker])
RUN_WORKERS = web.AppKey("run_workers", bool)

# How campaign messages go out: set by the Telegram bot's setup when a bot token is configured.
CAMPAIGN_CHANNEL = web.AppKey("campaign_channel", Channel)
