"""Routing a call within its time budget: the platform must always get an answer in time,
so a database that is down or slower than the budget sends the caller to the default
queue. Also the state routing keeps for the life of the process (the rules, a short-lived
copy of the queues, the tasks still unwinding past their budget)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.routing import publish
from handlers.routing.compiled import route_compiled
from handlers.routing.route import Decision, fallback_decision, route_call
from handlers.routing.rules import InboundCall, Rules
from storage.events import EventBus
from storage.models.base import utcnow
from storage.routing import queues as queues_repo
from storage.routing.hot_path import ERRORS, REFUSED, CompiledRouting
from storage.routing.queues import QueueView

log = logging.getLogger(__name__)

# What sends a call to the default queue: the budget spent, or a database that cannot answer
# (through the ORM, or the compiled statement's own connections).
FAILURES: tuple[type[BaseException], ...] = (TimeoutError, SQLAlchemyError, OSError, *ERRORS)
Queues = Mapping[str, QueueView]


@dataclass
class CallRouting:
    rules: Rules
    budget: float
    # Queues and their hours change rarely; re-read them every few seconds, not per call.
    queues: Mapping[str, QueueView] | None = None
    queues_read_at: float = 0.0
    queues_ttl: float = 5.0
    # Routing tasks past their budget, cancelled and still unwinding; held so that they are
    # not garbage-collected mid-way, and awaited when the application stops.
    unwinding: set[asyncio.Task[Decision]] = field(default_factory=set)
    # The rules compiled into one statement, on PostgreSQL with its event bus (set at start).
    compiled: CompiledRouting | None = None
    _reading: asyncio.Lock = field(default_factory=asyncio.Lock)

    def unwound(self, task: asyncio.Task[Decision]) -> None:
        self.unwinding.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.info("a routing task past its budget ended with %s", type(task.exception()).__name__)

    async def current_queues(self, session: AsyncSession) -> Mapping[str, QueueView]:
        return await self._read_queues(lambda: queues_repo.queues(session))

    async def compiled_queues(self, compiled: CompiledRouting) -> Mapping[str, QueueView]:
        async def read() -> Mapping[str, QueueView]:
            return {q["name"]: QueueView(**q) for q in await compiled.queues()}

        return await self._read_queues(read)

    async def _read_queues(
        self, read: Callable[[], Awaitable[Mapping[str, QueueView]]]
    ) -> Mapping[str, QueueView]:
        """One call reads the queues again when they are due; the calls meanwhile keep the
        copy they have, or, before the first read, wait for it. (Every call in flight used to
        read them at once: 64 reads, and at start 64 connections, every five seconds.)"""
        if self._fresh() or (self.queues is not None and self._reading.locked()):
            return self.queues  # type: ignore[return-value]
        async with self._reading:
            if not self._fresh():
                self.queues = await read()
                self.queues_read_at = time.monotonic()
        return self.queues  # type: ignore[return-value]

    def _fresh(self) -> bool:
        return self.queues is not None and time.monotonic() - self.queues_read_at <= self.queues_ttl

    async def let_unwind(self, seconds: float) -> None:
        """Before the engine closes: give cancelled routing tasks a moment to return their
        connections (a hung server may never let them; then the engine's disposal ends them)."""
        if self.unwinding:
            await asyncio.wait(set(self.unwinding), timeout=seconds)


async def _route(
    sessions: async_sessionmaker[AsyncSession],
    routing: CallRouting,
    call: InboundCall,
    region: str,
    now: datetime | None,
) -> Decision:
    compiled = routing.compiled
    if compiled is not None:
        try:
            decision = await route_compiled(
                compiled,
                call,
                routing.rules,
                await routing.compiled_queues(compiled),
                region=region,
                now=now or utcnow(),
            )
        except REFUSED:
            decision = None  # a value the database refuses: the ORM's path reports it as usual
        if decision is not None:
            return decision
    async with sessions() as session:
        return await route_call(
            session, call, routing.rules, region=region, now=now, queues=await routing.current_queues(session)
        )


async def _within_budget(
    sessions: async_sessionmaker[AsyncSession],
    routing: CallRouting,
    call: InboundCall,
    region: str,
    now: datetime | None,
) -> Decision:
    """Routing's answer, or TimeoutError once the budget is spent. The budget covers waiting
    for a connection too. It runs as a task of its own, and is left to unwind on its own:
    cancelling a statement on a hung server (rollback, returning the connection) can take
    as long again, and asyncio.timeout would wait for that before answering."""
    task = asyncio.create_task(_route(sessions, routing, call, region, now))
    try:
        done, _ = await asyncio.wait({task}, timeout=routing.budget)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task in done:
        return task.result()
    task.cancel()
    routing.unwinding.add(task)
    task.add_done_callback(routing.unwound)
    raise TimeoutError


async def decide(
    sessions: async_sessionmaker[AsyncSession],
    events: EventBus,
    routing: CallRouting,
    call: InboundCall,
    *,
    region: str,
    now: datetime | None = None,
) -> Decision:
    """The route for a new call (that arrived at `now`, the clock's now if not given), never
    later than the budget. A fallback decision says so
    (`fallback`, its reason `fallback-timeout` or `fallback-database`); a new decision is
    announced to the offered agent's screen pop and the supervisor view, a repeated one
    (`repeat`) was announced the first time."""
    try:
        decision = await _within_budget(sessions, routing, call, region, now)
    except FAILURES as error:
        reason = "fallback-timeout" if isinstance(error, TimeoutError) else "fallback-database"
        log.warning("routing call %s fell back to the default queue: %s", call.call_id, type(error).__name__)
        return fallback_decision(routing.rules, reason)
    if not decision.repeat:
        try:
            await publish.routed(
                events,
                call.call_id,
                agent=decision.agent,
                customer_id=decision.customer_id,
                queue=decision.queue,
            )
        except Exception:  # the call is routed and logged: the PBX gets its answer without the pop
            log.exception("call %s routed, but its events could not be published", call.call_id)
    return decision
