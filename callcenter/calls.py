"""What both telephony adapters share: the routing decision within its time budget, call
progress, the events that move screen pops and the supervisor view, and their metrics."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import Counter
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.keys import EVENTS, METRICS, SESSIONS, SETTINGS
from handlers import agents, routing
from handlers.routing import CallUpdate, Decision, InboundCall, Rules
from storage import routing as routing_repo
from storage.events import CALLS, SUPERVISOR
from storage.routing import QueueView

log = logging.getLogger(__name__)


@dataclass
class CallRouting:
    rules: Rules
    budget: float
    decisions: Counter
    fallbacks: Counter
    # Queues and their hours change rarely; re-read them every few seconds, not per call.
    queues: Mapping[str, QueueView] | None = None
    queues_read_at: float = 0.0
    queues_ttl: float = 5.0
    # Routing tasks past their budget, cancelled and still unwinding; held so that they are
    # not garbage-collected mid-way, and awaited when the application stops.
    unwinding: set[asyncio.Task[Decision]] = field(default_factory=set)

    def unwound(self, task: asyncio.Task[Decision]) -> None:
        self.unwinding.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.info("a routing task past its budget ended with %s", type(task.exception()).__name__)

    async def current_queues(self, session: AsyncSession) -> Mapping[str, QueueView]:
        now = time.monotonic()
        if self.queues is None or now - self.queues_read_at > self.queues_ttl:
            self.queues = await routing_repo.queues(session)
            self.queues_read_at = now
        return self.queues


ROUTING = web.AppKey("call_routing", CallRouting)


async def _route(app: web.Application, routing_state: CallRouting, call: InboundCall) -> Decision:
    async with app[SESSIONS]() as session:
        return await routing.route_call(
            session,
            call,
            routing_state.rules,
            region=app[SETTINGS].default_region,
            queues=await routing_state.current_queues(session),
        )


async def _within_budget(app: web.Application, routing_state: CallRouting, call: InboundCall) -> Decision:
    """Routing's answer, or TimeoutError once the budget is spent. The budget covers waiting
    for a connection too. It runs as a task of its own, and is left to unwind on its own:
    cancelling a statement on a hung server (rollback, returning the connection) can take
    as long again, and asyncio.timeout would wait for that before answering."""
    task = asyncio.create_task(_route(app, routing_state, call))
    try:
        done, _ = await asyncio.wait({task}, timeout=routing_state.budget)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task in done:
        return task.result()
    task.cancel()
    routing_state.unwinding.add(task)
    task.add_done_callback(routing_state.unwound)
    raise TimeoutError


async def decide(app: web.Application, call: InboundCall) -> Decision:
    """The route for a new call. The platform must always get an answer in time: if the
    database is down or slower than the budget, the caller goes to the default queue."""
    routing_state = app[ROUTING]
    try:
        decision = await _within_budget(app, routing_state, call)
    except (TimeoutError, SQLAlchemyError, OSError) as error:
        reason = "fallback-timeout" if isinstance(error, TimeoutError) else "fallback-database"
        log.warning("routing call %s fell back to the default queue: %s", call.call_id, type(error).__name__)
        routing_state.fallbacks.labels(reason).inc()
        return routing.fallback_decision(routing_state.rules, reason)
    if not decision.repeat:
        routing_state.decisions.labels(decision.action, decision.reason).inc()
        if decision.agent:
            await app[EVENTS].publish(
                CALLS,
                {
                    "type": "call_offered",
                    "call_id": call.call_id,
                    "agent": decision.agent,
                    "customer_id": decision.customer_id,
                    "queue": decision.queue,
                },
            )
            await app[EVENTS].publish(
                SUPERVISOR, {"type": "agent_state", "agent": decision.agent, "state": "busy"}
            )
        await app[EVENTS].publish(SUPERVISOR, {"type": "queues_changed"})
    return decision


async def answered(app: web.Application, call_id: str, agent: str | None) -> CallUpdate:
    async with app[SESSIONS]() as session:
        update = await routing.call_answered(session, call_id, agent)
    if update.known:
        await app[EVENTS].publish(
            CALLS,
            {
                "type": "call_answered",
                "call_id": call_id,
                "agent": update.agent,
                "customer_id": update.customer_id,
                "queue": update.queue,
            },
        )
        await app[EVENTS].publish(SUPERVISOR, {"type": "queues_changed"})
    return update


async def ended(app: web.Application, call_id: str, *, cause: str | None, duration: int | None) -> CallUpdate:
    async with app[SESSIONS]() as session:
        update = await routing.call_ended(session, call_id, cause=cause, duration=duration)
    if update.known:
        await app[EVENTS].publish(
            CALLS,
            {
                "type": "call_ended",
                "call_id": call_id,
                "agent": update.agent,
                "customer_id": update.customer_id,
                "queue": update.queue,
            },
        )
        await app[EVENTS].publish(SUPERVISOR, {"type": "queues_changed"})
        if update.agent:
            await app[EVENTS].publish(
                SUPERVISOR, {"type": "agent_state", "agent": update.agent, "state": "available"}
            )
    return update


async def contacts_section(session: AsyncSession, customer_id: int) -> Any:
    return await agents.recent_for_customer(session, customer_id, limit=10)


async def _let_routing_unwind(app: web.Application) -> None:
    """Before the engine closes: give cancelled routing tasks a moment to return their
    connections (a hung server may never let them; then the engine's disposal ends them)."""
    unwinding = app[ROUTING].unwinding
    if unwinding:
        await asyncio.wait(set(unwinding), timeout=app[SETTINGS].database_connect_timeout_seconds)


def setup(app: web.Application, rules: Rules) -> None:
    from callcenter.api_customers import PROFILE_SECTIONS

    app[PROFILE_SECTIONS]["contacts"] = contacts_section
    settings = app[SETTINGS]
    registry = app[METRICS].registry
    app[ROUTING] = CallRouting(
        rules=rules,
        budget=settings.routing_budget_seconds,
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
