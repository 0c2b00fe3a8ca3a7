"""Typed application keys: the state each aiohttp application carries (no singletons)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from callcenter.metrics import Metrics
from callcenter.openapi import OpenAPI
from callcenter.settings import Settings
from handlers.inbox.routing import InboxPolicy
from storage.events import EventBus

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
# Sessions for the reports that aggregate history and write nothing: on the read replica when
# CONTACTDESK_REPORTS_DATABASE_URL names one, else the same as SESSIONS (docs/scale.md).
REPORT_SESSIONS = web.AppKey("report_sessions", async_sessionmaker[AsyncSession])
METRICS = web.AppKey("metrics", Metrics)
OPENAPI = web.AppKey("openapi", OpenAPI)
EVENTS = web.AppKey("events", EventBus)
# The application's clock: call events without a time of their own happen at its now, and
# the live report's today is its today (a test sets it; the server runs on utcnow).
CLOCK: web.AppKey[Callable[[], datetime]] = web.AppKey("clock")
# The chat inbox's routing policy (the call routing rules and the operator's holidays).
INBOX_POLICY = web.AppKey("inbox_policy", InboxPolicy)
