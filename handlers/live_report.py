"""The floor today, as the supervisor's dashboard and `GET /api/v1/reports/live` show it.

Definitions, so every screen and test agrees: a call is offered when routed to a queue;
answered when an agent answers it; abandoned when it ends unanswered; service level =
answered within the threshold ÷ offered (abandoned calls count as offered); abandonment
rate = abandoned ÷ offered; wait runs from routing to answer (answered calls); handle time
runs from answer to hangup (ended calls). "Today" is the operator's day (its time zone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class QueueFigures:
    queue: str
    waiting: int
    longest_wait_s: int
    offered: int
    answered: int
    abandoned: int
    service_level: float | None  # None when nothing was offered today
    abandonment_rate: float | None
    avg_wait_s: float | None
    avg_handle_s: float | None


@dataclass(frozen=True)
class AgentFigures:
    login: str
    name: str
    state: str  # offline | available | busy | wrap_up
    since: datetime
    handled: int  # calls answered today
    avg_handle_s: float | None


@dataclass(frozen=True)
class Interval:
    """A quarter hour of today: the calls offered in it and how they fared."""

    start: datetime  # aware, UTC
    offered: int
    answered: int
    abandoned: int
    avg_wait_s: float | None


@dataclass(frozen=True)
class LiveReport:
    day: date  # the operator's today
    threshold_s: int  # the service level's threshold
    queues: list[QueueFigures]  # every configured queue, by name, and any other queue seen today
    agents: list[AgentFigures]  # every agent, by login
    intervals: list[Interval]  # today's quarter hours from midnight up to now, oldest first


async def live(session: AsyncSession, now: datetime, *, zone: ZoneInfo, threshold_s: int) -> LiveReport:
    """Today's figures, computed in SQL from the contact log."""
    raise NotImplementedError  # built in the live-figures branch
