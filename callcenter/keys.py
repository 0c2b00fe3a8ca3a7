"""Typed application keys: the state each aiohttp application carries (no singletons)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from callcenter.metrics import Metrics
from callcenter.openapi import OpenAPI
from callcenter.settings import Settings
from storage.events import EventBus

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
METRICS = web.AppKey("metrics", Metrics)
OPENAPI = web.AppKey("openapi", OpenAPI)
EVENTS = web.AppKey("events", EventBus)
