"""The floor today, as the supervisor's dashboard and `GET /api/v1/reports/live` show it.

Definitions, so every screen and test agrees: a call is offered when routed to a queue;
answered when an agent answers it; abandoned when it ends unanswered; service level =
answered within the threshold ÷ offered (abandoned calls count as offered); abandonment
rate = abandoned ÷ offered; wait runs from routing to answer (answered calls); handle time
runs from answer to hangup (ended calls). "Today" is the operator's day (its time zone).

What counts: inbound phone calls routed to a queue (contact log action `route`) whose
routing happened today, so a call counts on the day and in the quarter hour it arrived in,
however late it is answered. Outbound calls (callbacks, the dialer) and rejected calls are
not offered to a queue and count nowhere in the call figures. "Within the threshold"
means a wait of at most `threshold_s` seconds. Waiting (and the longest wait) is every
routed call not yet answered nor ended, whenever it arrived. An agent's calls handled are
the calls offered today that they answered (so the agents' figures add up to the queues'
answered calls), their average handle time over those that have ended. The agents are
every active user with the agent role and any other active user who has a state (a
supervisor taking calls), the state and since when from presence; a user who never had a
state is offline since their account was made. Quarter hours run from local midnight, 900 s
apart (a daylight-saving change moves the clock by whole quarters), up to the one holding
now; a call stamped a few seconds ahead of now counts in the current quarter.

Chats (the inbox) have figures of their own beside each queue's calls: the conversations
waiting now in the queue and how long the longest has waited since it was opened (a chat
transferred back to a queue counts from its opening too), and those open with an agent; and
beside each agent, the chats they hold open now. A queue with live chats is listed even when
no call was routed to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.roles import AGENT
from storage import inbox_figures
from storage.routing import live_figures
from storage.routing.live_figures import QUARTER_S, Tally


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
    chats_waiting: int = 0
    longest_chat_wait_s: int = 0
    chats_open: int = 0


@dataclass(frozen=True)
class AgentFigures:
    login: str
    name: str
    state: str  # offline | available | busy | wrap_up
    since: datetime
    handled: int  # calls answered today
    avg_handle_s: float | None
    chats: int = 0  # chats held open now


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
    """Today's figures, computed in SQL from the contact log (three round trips; see
    storage/routing/live_figures.py)."""
    day, start, end = today(now, zone)
    quarters = int((now - start).total_seconds() // QUARTER_S) + 1
    tallies = await live_figures.today_by_quarter(session, start, end, threshold_s)
    waiting = {w.queue: w for w in await live_figures.waiting_now(session)}
    chats = await inbox_figures.chat_queues(session)
    held = await inbox_figures.chats_by_agent(session)
    by_queue: dict[str, Tally] = {}
    by_quarter = [Tally() for _ in range(quarters)]
    for (queue, quarter), tally in tallies.items():
        by_queue[queue] = by_queue.get(queue, Tally()) + tally
        # A call stamped ahead of now joins the current quarter (see the module's docstring).
        at = min(max(quarter, 0), quarters - 1)
        by_quarter[at] = by_quarter[at] + tally
    queues = [
        _queue_figures(name, by_queue.get(name, Tally()), waiting.get(name), chats.get(name), now)
        for name in sorted(set(waiting) | set(by_queue) | set(chats))
    ]
    agents = [
        AgentFigures(
            login=a.login,
            name=a.name,
            state=a.state,
            since=a.since,
            handled=a.handled,
            avg_handle_s=_average(a.handle_s, a.ended),
            chats=held.get(a.login, 0),
        )
        for a in await live_figures.agents_today(session, start, end, role=AGENT)
    ]
    intervals = [
        Interval(
            start=start + timedelta(seconds=QUARTER_S * n),
            offered=t.offered,
            answered=t.answered,
            abandoned=t.abandoned,
            avg_wait_s=_average(t.wait_s, t.answered),
        )
        for n, t in enumerate(by_quarter)
    ]
    return LiveReport(day=day, threshold_s=threshold_s, queues=queues, agents=agents, intervals=intervals)


def today(now: datetime, zone: ZoneInfo) -> tuple[date, datetime, datetime]:
    """The operator's date at `now`, and that day's local midnights as UTC instants."""
    day = now.astimezone(zone).date()
    start, end = (
        datetime.combine(d, time(0), tzinfo=zone).astimezone(UTC) for d in (day, day + timedelta(days=1))
    )
    return day, start, end


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _average(total: float, count: int) -> float | None:
    return round(total / count, 1) if count else None


def _since(now: datetime, oldest: datetime | None) -> int:
    return max(int((now - oldest).total_seconds()), 0) if oldest else 0


def _queue_figures(
    name: str,
    t: Tally,
    waiting: live_figures.Waiting | None,
    chats: inbox_figures.ChatQueue | None,
    now: datetime,
) -> QueueFigures:
    return QueueFigures(
        queue=name,
        waiting=waiting.waiting if waiting else 0,
        longest_wait_s=_since(now, waiting.oldest_at if waiting else None),
        offered=t.offered,
        answered=t.answered,
        abandoned=t.abandoned,
        service_level=_ratio(t.within, t.offered),
        abandonment_rate=_ratio(t.abandoned, t.offered),
        avg_wait_s=_average(t.wait_s, t.answered),
        avg_handle_s=_average(t.handle_s, t.ended_answered),
        chats_waiting=chats.waiting if chats else 0,
        longest_chat_wait_s=_since(now, chats.oldest_at if chats else None),
        chats_open=chats.open if chats else 0,
    )
