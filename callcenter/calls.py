"""What both telephony adapters share: the call use cases (handlers/routing/) called with
this application's sessions, event bus and settings, and the routing metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from prometheus_client import Counter
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.keys import EVENTS, METRICS, SESSIONS, SETTINGS
from handlers import agents
from handlers.routing import budget, calls, dial
from handlers.routing.budget import CallRouting
from handlers.routing.calls import Answerer, CallUpdate
from handlers.routing.compiled import compiled_rules, end_compiled
from handlers.routing.route import Decision
from handlers.routing.rules import InboundCall, Rules
from storage.db import is_sqlite, normalise_url
from storage.events_postgres import PostgresBus
from storage.routing.hot_path import CompiledRouting

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoutingMetrics:
    decisions: Counter
    fallbacks: Counter

    def count(self, decision: Decision) -> None:
        """A repeated call id was counted the first time; a fallback is never a repeat."""
        if decision.repeat:
            return
        if decision.fallback:
            self.fallbacks.labels(decision.reason).inc()
        else:
            self.decisions.labels(decision.action, decision.reason).inc()


ROUTING = web.AppKey("call_routing", CallRouting)
ROUTING_METRICS = web.AppKey("call_routing_metrics", RoutingMetrics)


async def decide(app: web.Application, call: InboundCall, *, now: datetime | None = None) -> Decision:
    decision = await budget.decide(
        app[SESSIONS], app[EVENTS], app[ROUTING], call, region=app[SETTINGS].default_region, now=now
    )
    app[ROUTING_METRICS].count(decision)
    return decision


async def agent_missed(app: web.Application, call_id: str, *, now: datetime | None = None) -> Decision | None:
    async with app[SESSIONS]() as session:
        return await dial.not_answered(
            session, app[EVENTS], call_id, app[ROUTING].rules, region=app[SETTINGS].default_region, now=now
        )


async def answered(
    app: web.Application, call_id: str, who: Answerer | str | None, *, now: datetime | None = None
) -> CallUpdate:
    """`who`: what the PBX said about who answered, or just an agent's login."""
    answerer = who if isinstance(who, Answerer) else Answerer(names=(who,) if who else ())
    async with app[SESSIONS]() as session:
        return await calls.answered(
            session, app[EVENTS], call_id, answerer, region=app[SETTINGS].default_region, now=now
        )


async def ended(
    app: web.Application,
    call_id: str,
    *,
    cause: str | None,
    duration: int | None,
    now: datetime | None = None,
) -> CallUpdate:
    compiled = app[ROUTING].compiled
    if compiled is not None:  # on PostgreSQL: one statement, as routing
        update = await end_compiled(compiled, app[EVENTS], call_id, cause=cause, duration=duration, now=now)
        if update is not None:
            return update
    async with app[SESSIONS]() as session:
        return await calls.ended(session, app[EVENTS], call_id, cause=cause, duration=duration, now=now)


async def log_outbound(
    app: web.Application, call: InboundCall, agent: str | None, *, now: datetime | None = None
) -> None:
    async with app[SESSIONS]() as session:
        await calls.log_outbound(session, call, agent, region=app[SETTINGS].default_region, now=now)


async def contacts_section(session: AsyncSession, customer_id: int) -> Any:
    return await agents.recent_for_customer(session, customer_id, limit=10)


async def _let_routing_unwind(app: web.Application) -> None:
    await app[ROUTING].let_unwind(app[SETTINGS].database_connect_timeout_seconds)


async def _compiled_routing(app: web.Application) -> AsyncIterator[None]:
    """On PostgreSQL with its event bus: route new calls with the
    compiled rules, and end calls in one statement. A rule file the compiler cannot take
    keeps the Python engine (and the ORM's hangup)."""
    settings = app[SETTINGS]
    routing = app[ROUTING]
    if (
        not settings.routing_compiled
        or is_sqlite(settings.database_url)
        or not isinstance(app[EVENTS], PostgresBus)
    ):
        yield
        return
    try:
        routing.compiled = CompiledRouting(
            make_url(normalise_url(settings.database_url))
            .set(drivername="postgresql")
            .render_as_string(hide_password=False),
            compiled_rules(routing.rules),
            pool_size=settings.routing_pool_size,
            synchronous_commit=settings.routing_synchronous_commit,
            statement_timeout=settings.database_statement_timeout_seconds,
            prepared_statements=settings.database_prepared_statements,
        )
    except ValueError as error:
        log.warning("routing rules not compiled, the Python engine routes: %s", error)
        yield
        return
    try:
        yield
    finally:
        compiled, routing.compiled = routing.compiled, None
        await routing.let_unwind(settings.database_connect_timeout_seconds)
        await compiled.close()


def setup(app: web.Application, rules: Rules) -> None:
    from callcenter.api_customers import PROFILE_SECTIONS

    app[PROFILE_SECTIONS]["contacts"] = contacts_section
    settings = app[SETTINGS]
    registry = app[METRICS].registry
    app[ROUTING] = CallRouting(rules=rules, budget=settings.routing_budget_seconds)
    app[ROUTING_METRICS] = RoutingMetrics(
        decisions=Counter(
            "contactdesk_routing_decisions",
            "Inbound calls routed, by action and rule",
            ["action", "rule"],
            registry=registry,
        ),
        fallbacks=Counter(
            "contactdesk_routing_fallbacks",
            "Calls sent to the default queue because the database was unreachable or slower than the budget",
            ["reason"],
            registry=registry,
        ),
    )
    app.on_shutdown.append(_let_routing_unwind)
    app.cleanup_ctx.append(_compiled_routing)
