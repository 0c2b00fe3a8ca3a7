"""The demo's history: 60 days of inbound calls and 12 weeks of survey answers, so that the
supervisor's figures, the satisfaction trend and the customers' contact lists have something
to show.

Each day is drawn from a random generator seeded with its date, so loading the demo again
writes the same calls under the same ids (nothing twice) and only adds what has happened since:
today's calls up to now, and the days that have passed."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.defaults import SURVEY_LIFETIME, TIMEZONE
from storage.demo_rows import (
    PastCall,
    PastSurvey,
    insert_past_calls,
    insert_past_surveys,
    logged_call_ids,
    survey_refs,
)

CALL_DAYS = 60
SURVEY_DAYS = 7 * 12
HOTLINE = "+862088880000"

# Calls offered in each hour of a weekday, by the operator's clock; the night service takes
# the rest of the day at about one call in two hours. Weekends bring six in ten of that.
HOURLY = {8: 4, 9: 7, 10: 9, 11: 8, 12: 5, 13: 6, 14: 8, 15: 8, 16: 7, 17: 6, 18: 4, 19: 3, 20: 3, 21: 2}
NIGHT_RATE = 0.5
WEEKEND = 0.6

DISPOSITIONS = {
    "general": (
        "已解答账单疑问",
        "已办理套餐变更",
        "已重置宽带密码",
        "已解答流量查询",
        "已开通国际漫游",
        "已登记报修工单",
    ),
    "billing": ("已解释账单明细", "已退还多扣费用", "已调整缴费方式"),
    "complaints": ("已登记投诉", "已告知投诉进展", "已转网络部门跟进", "已约定回电时间"),
    "vip": ("已办理宽带提速", "已预约上门维修", "已解答账单疑问", "已赠送流量包"),
    "english": (
        "Explained the bill",
        "Changed the plan",
        "Reset the broadband password",
        "Booked an engineer",
    ),
    "overflow": ("已安排次日回电", "已登记报修工单", "已解答流量查询"),
}
CSAT_WEIGHTS = {5: 40, 4: 32, 3: 13, 2: 9, 1: 6}
NPS_WEIGHTS = {10: 22, 9: 24, 8: 16, 7: 12, 6: 8, 5: 6, 4: 4, 3: 3, 2: 2, 1: 2, 0: 1}


@dataclass(frozen=True)
class Caller:
    customer_id: int
    phone: str
    tier: str
    language: str
    blacklisted: bool
    weight: float  # how often they call, against the others


@dataclass(frozen=True)
class Agents:
    """The demo agents by the queues they answer (agent1 has every skill, agent2 general
    and billing, as in the demo's users)."""

    senior: int
    junior: int


@dataclass(frozen=True)
class _Route:
    queue: str
    priority: int
    reason: str
    skills: tuple[str, ...]
    ivr_digits: str | None = None


def _route(rng: random.Random, caller: Caller | None, local: datetime) -> _Route:
    """The queue the routing rules (handlers/routing/rules.toml) would have chosen."""
    if local.hour < 8 or local.hour >= 22:
        route = _route(rng, caller, local.replace(hour=12))
        return _Route("overflow", route.priority, route.reason, route.skills, route.ivr_digits)
    if caller is None:
        return _Route("general", 10, "unknown-caller", ("general",), rng.choice(("1", "2", "2", "3")))
    if caller.tier == "vip":
        return _Route("vip", 100, "vip", ("vip",))
    if caller.language == "en":
        if local.weekday() < 5 and 9 <= local.hour < 18:
            return _Route("english", 40, "english-speaker", ("general",))
        return _Route("general", 40, "english-speaker", ("general",))
    if caller.tier == "preferred":
        return _Route("general", 50, "preferred", ("general",))
    draw = rng.random()
    if draw < 0.2:
        return _Route("complaints", 70, "repeat-contact", ("complaints",))
    if draw < 0.35:
        return _Route("general", 30, "menu-billing", ("billing",), "1")
    return _Route("general", 20, "default", ("general",))


def _agent(rng: random.Random, route: _Route, agents: Agents) -> int:
    if route.queue == "overflow" or "billing" in route.skills:
        return agents.junior
    if route.queue in ("vip", "complaints", "english"):
        return agents.senior
    return rng.choice((agents.senior, agents.junior))


def _unknown_number(rng: random.Random) -> str:
    return f"+86137{rng.randrange(10**8):08d}"


def day_calls(
    day: date, callers: Sequence[Caller], agents: Agents, zone: ZoneInfo, now: datetime
) -> list[PastCall]:
    """The calls of one day of the operator's calendar that were over by `now`."""
    rng = random.Random(f"demo-calls-{day.isoformat()}")  # noqa: S311 - demo data, not secrets
    known = [c for c in callers if not c.blacklisted]
    weights = [c.weight for c in known]
    factor = WEEKEND if day.weekday() >= 5 else 1.0
    calls: list[PastCall] = []
    for hour in range(24):
        rate = HOURLY.get(hour, NIGHT_RATE) * factor
        for _ in range(round(rate * rng.uniform(0.6, 1.4))):
            local = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), zone)
            caller = rng.choices(known, weights)[0] if known and rng.random() < 0.75 else None
            route = _route(rng, caller, local)
            offered = local.astimezone(UTC)
            abandoned = rng.random() < (0.25 if route.queue == "overflow" else 0.07)
            wait = rng.lognormvariate(2.6, 0.7) * (0.5 if route.queue == "vip" else 1.0)
            if abandoned:
                answered_at = None
                ended_at = offered + timedelta(seconds=round(min(rng.lognormvariate(3.3, 0.6), 300)))
                agent_id, duration, disposition = None, None, None
            else:
                answered_at = offered + timedelta(seconds=round(min(wait, 240)))
                duration = round(min(max(rng.lognormvariate(5.4, 0.5), 30), 1500))
                ended_at = answered_at + timedelta(seconds=duration)
                agent_id = _agent(rng, route, agents)
                disposition = rng.choice(
                    DISPOSITIONS["billing" if "billing" in route.skills else route.queue]
                )
            calls.append(
                PastCall(
                    external_id=f"demo-{day:%Y%m%d}-{len(calls):03d}",
                    customer_id=caller.customer_id if caller else None,
                    from_number=caller.phone if caller else _unknown_number(rng),
                    to_number=HOTLINE,
                    queue=route.queue,
                    priority=route.priority,
                    reason=route.reason,
                    skills=list(route.skills),
                    agent_id=agent_id,
                    created_at=offered,
                    answered_at=answered_at,
                    ended_at=ended_at,
                    duration_seconds=duration,
                    disposition=disposition,
                    ivr_digits=route.ivr_digits,
                )
            )
    return [c for c in calls if c.ended_at <= now]


def _days(now: datetime, zone: ZoneInfo, count: int) -> list[date]:
    today = now.astimezone(zone).date()
    return [today - timedelta(days=n) for n in range(count - 1, -1, -1)]


async def load_calls(session: AsyncSession, callers: Sequence[Caller], agents: Agents, now: datetime) -> None:
    zone = ZoneInfo(TIMEZONE)
    days = _days(now, zone, CALL_DAYS)
    logged = await logged_call_ids(session, "demo-", datetime.combine(days[0], time(0), zone))
    calls = [
        call
        for day in days
        for call in day_calls(day, callers, agents, zone, now)
        if call.external_id not in logged
    ]
    await insert_past_calls(session, calls)
    await session.commit()


def _score(rng: random.Random, weights: dict[int, int], weeks_ago: int) -> int:
    """Scores drift up a little week by week: the trend has a slope to read."""
    shifted = {score: weight * (1 + (score - 2) * (11 - weeks_ago) / 60) for score, weight in weights.items()}
    return rng.choices(list(shifted), [max(w, 0.1) for w in shifted.values()])[0]


async def load_surveys(
    session: AsyncSession, callers: Sequence[Caller], agents: Agents, now: datetime
) -> None:
    """Post-call CSAT and NPS answers, a few a day, most of them answered within the hour."""
    zone = ZoneInfo(TIMEZONE)
    asked = await survey_refs(session, "demo-survey-")
    surveys: list[PastSurvey] = []
    for day in _days(now, zone, SURVEY_DAYS):
        rng = random.Random(f"demo-surveys-{day.isoformat()}")  # noqa: S311 - demo data
        weeks_ago = (now.astimezone(zone).date() - day).days // 7
        for n in range(rng.randint(1, 3) if day.weekday() >= 5 else rng.randint(3, 5)):
            sent = datetime.combine(day, time(rng.randrange(9, 21), rng.randrange(60)), zone)
            kind = "csat" if rng.random() < 0.6 else "nps"
            score = _score(rng, CSAT_WEIGHTS if kind == "csat" else NPS_WEIGHTS, weeks_ago)
            answered = sent + timedelta(minutes=rng.randrange(2, 90))
            caller = rng.choice(callers)
            agent_id = rng.choice((agents.senior, agents.junior))
            answers = rng.random() > 1 / 6  # one in six never answers
            ref = f"demo-survey-{day:%Y%m%d}-{n}"
            if sent > now or caller.blacklisted or ref in asked:
                continue
            done = answers and answered <= now
            surveys.append(
                PastSurvey(
                    external_ref=ref,
                    customer_id=caller.customer_id,
                    kind=kind,
                    agent_id=agent_id,
                    created_at=sent,
                    expires_at=sent + SURVEY_LIFETIME,
                    answered_at=answered if done else None,
                    score=score if done else None,
                )
            )
    await insert_past_surveys(session, surveys)
    await session.commit()
