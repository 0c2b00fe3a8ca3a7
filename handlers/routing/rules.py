"""Pre-routing: choose the route of an inbound call before it reaches an agent, from who is
calling (tier, blacklist, open complaints, recent contacts, language, region), the IVR
input, the queues' business hours and which skilled agents are free."""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import InvalidInput
from handlers.identities import mask, normalise_phone
from storage import customers as customers_repo
from storage import routing as repo
from storage.models.base import utcnow
from storage.routing import CallerFacts, ContactView, QueueView

log = logging.getLogger(__name__)

CONDITIONS = frozenset(
    {
        "known",
        "blacklisted",
        "tier",
        "open_complaint",
        "contacted_within_days",
        "language",
        "region",
        "ivr",
        "dialled",
        "hours",
        "days",
    }
)


@dataclass(frozen=True)
class Rule:
    name: str
    when: Mapping[str, Any]
    action: str = "route"
    queue: str = "general"
    priority: int = 0
    skills: tuple[str, ...] = ()
    agent_language: bool = False
    ivr: bool = False
    message: str | None = None


@dataclass(frozen=True)
class Rules:
    rules: tuple[Rule, ...]
    timezone: str = "Asia/Shanghai"
    default_queue: str = "general"


@dataclass(frozen=True)
class InboundCall:
    call_id: str
    caller: str | None
    dialled: str | None = None
    channel: str = "phone"
    direction: str = "in"
    ivr_digits: str | None = None


@dataclass(frozen=True)
class Decision:
    action: str  # route | reject
    queue: str | None
    priority: int
    reason: str
    skills: tuple[str, ...] = ()
    agent: str | None = None
    customer_id: int | None = None
    customer_name: str | None = None
    language: str = "zh"
    ivr: bool = False
    message: str | None = None
    fallback: bool = False
    repeat: bool = False
    contact_id: int | None = field(default=None, compare=False)


def load_rules(path: str | None = None, timezone: str = "Asia/Shanghai") -> Rules:
    """The rule file at `path`, or the shipped default; a malformed file fails loudly at start."""
    if path:
        text = Path(path).read_text(encoding="utf-8")
    else:
        text = resources.files("handlers").joinpath("routing_rules.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    rules = []
    for raw in data.get("rule", []):
        when = dict(raw.get("when", {}))
        unknown = set(when) - CONDITIONS
        if unknown:
            raise InvalidInput(f"rule {raw.get('name')!r}: unknown conditions {sorted(unknown)}")
        if raw.get("action", "route") not in ("route", "reject"):
            raise InvalidInput(f"rule {raw.get('name')!r}: action is route or reject")
        rules.append(
            Rule(
                name=str(raw["name"]),
                when=when,
                action=raw.get("action", "route"),
                queue=raw.get("queue", "general"),
                priority=int(raw.get("priority", 0)),
                skills=tuple(raw.get("skills", ())),
                agent_language=bool(raw.get("agent_language", False)),
                ivr=bool(raw.get("ivr", False)),
                message=raw.get("message"),
            )
        )
    if not rules:
        raise InvalidInput("the routing rule file has no [[rule]]")
    return Rules(tuple(rules), timezone=data.get("timezone", timezone))


def _in_hours(spec: str, local: datetime) -> bool:
    start, _, end = spec.partition("-")
    opens, closes = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    now = local.time()
    return opens <= now < closes if opens <= closes else (now >= opens or now < closes)


def matches(rule: Rule, facts: CallerFacts | None, call: InboundCall, now: datetime, timezone: str) -> bool:
    local = now.astimezone(ZoneInfo(timezone))
    for name, expected in rule.when.items():
        if name == "known" and (facts is not None) != expected:
            return False
        if name == "blacklisted" and (facts is not None and facts.blacklisted) != expected:
            return False
        if name == "tier" and (facts is None or facts.tier not in expected):
            return False
        if name == "open_complaint" and (facts is not None and facts.open_complaint) != expected:
            return False
        if name == "contacted_within_days" and (
            facts is None
            or facts.last_contact_at is None
            or now - facts.last_contact_at > timedelta(days=expected)
        ):
            return False
        if name == "language" and (facts is None or (facts.language or "zh") not in expected):
            return False
        if name == "region" and (facts is None or facts.region not in expected):
            return False
        if name == "ivr" and call.ivr_digits not in expected:
            return False
        if name == "dialled" and call.dialled not in expected:
            return False
        if name == "hours" and not _in_hours(expected, local):
            return False
        if name == "days" and local.weekday() not in expected:
            return False
    return True


def is_open(queue: QueueView | None, now: datetime) -> bool:
    if queue is None or not queue.opens or not queue.closes:
        return True
    local = now.astimezone(ZoneInfo(queue.timezone))
    return local.weekday() in queue.days and _in_hours(f"{queue.opens}-{queue.closes}", local)


def choose(
    rules: Rules, facts: CallerFacts | None, call: InboundCall, queues: Mapping[str, QueueView], now: datetime
) -> tuple[Rule, str | None]:
    """The matching rule and the queue after business hours (None: leave a callback)."""
    rule = next((r for r in rules.rules if matches(r, facts, call, now, rules.timezone)), None)
    if rule is None:
        rule = Rule(name="no-rule-matched", when={}, queue=rules.default_queue)
    if rule.action == "reject":
        return rule, None
    queue: str | None = rule.queue
    seen: set[str] = set()
    while queue is not None and not is_open(queues.get(queue), now) and queue not in seen:
        seen.add(queue)
        queue = queues[queue].overflow
    return rule, queue


async def _from_contact(session: AsyncSession, contact: ContactView) -> Decision:
    """The decision already given for this call, told the same way (name, language)."""
    customer = (
        await customers_repo.get(session, contact.customer_id, details=False) if contact.customer_id else None
    )
    return Decision(
        action=contact.action,
        queue=contact.queue,
        priority=contact.priority,
        reason=contact.reason,
        agent=contact.agent_login,
        customer_id=contact.customer_id,
        customer_name=customer.name if customer else None,
        language=(customer.language if customer else None) or "zh",
        fallback=contact.fallback,
        repeat=True,
        contact_id=contact.id,
    )


def fallback_decision(rules: Rules, reason: str) -> Decision:
    """What to answer when the database cannot: every caller reaches the default queue."""
    return Decision(action="route", queue=rules.default_queue, priority=0, reason=reason, fallback=True)


async def route_call(
    session: AsyncSession,
    call: InboundCall,
    rules: Rules,
    *,
    region: str = "CN",
    now: datetime | None = None,
    queues: Mapping[str, QueueView] | None = None,
) -> Decision:
    """Decide, pick an agent and log the contact; a repeated call id gets the stored decision."""
    now = now or utcnow()
    if not call.call_id.strip():
        raise InvalidInput("call_id is required", field="call_id")
    existing = await repo.get_contact(session, call.channel, call.call_id)
    if existing is not None and not (call.ivr_digits and existing.ivr_digits is None):
        return await _from_contact(session, existing)

    caller: str | None = None
    facts: CallerFacts | None = None
    if call.caller:
        try:
            caller = normalise_phone(call.caller, region)
        except InvalidInput:
            caller = None  # withheld or malformed caller ids are strangers, not errors
    if caller is not None:
        facts = await repo.caller_facts(session, "phone", caller)
    if queues is None:
        queues = await repo.queues(session)
    rule, queue = choose(rules, facts, call, queues, now)
    language = (facts.language if facts else None) or "zh"
    action = rule.action if rule.action == "reject" else ("route" if queue else "callback")

    agent: tuple[int, str] | None = None
    if action == "route" and not (rule.ivr and call.ivr_digits is None):
        agent = await repo.claim_longest_idle(
            session, rule.skills, language if rule.agent_language else None, now
        )

    fields = {
        "queue": queue,
        "priority": rule.priority,
        "agent_id": agent[0] if agent else None,
        "action": action,
        "reason": rule.name,
        "skills": list(rule.skills),
        "ivr_digits": call.ivr_digits,
    }
    if existing is not None:  # the IVR answer of a call we already logged
        await repo.update_contact(session, call.channel, call.call_id, **fields)
    elif not await repo.insert_contact(
        session,
        channel=call.channel,
        direction=call.direction,
        external_id=call.call_id,
        customer_id=facts.customer_id if facts else None,
        from_number=caller or (call.caller or "")[:32],
        to_number=(call.dialled or "")[:32],
        created_at=now,
        ringing_at=now,
        **fields,
    ):
        await session.rollback()  # a concurrent delivery logged it first: answer as it did
        stored = await repo.get_contact(session, call.channel, call.call_id)
        if stored is None:
            raise InvalidInput("call could not be logged", field="call_id")
        return await _from_contact(session, stored)
    await session.commit()
    log.info(
        "call %s from %s: %s %s (rule %s)", call.call_id, mask(caller or "unknown"), action, queue, rule.name
    )
    return Decision(
        action=action,
        queue=queue,
        priority=rule.priority,
        reason=rule.name,
        skills=rule.skills,
        agent=agent[1] if agent else None,
        customer_id=facts.customer_id if facts else None,
        customer_name=facts.name if facts else None,
        language=language,
        ivr=rule.ivr and call.ivr_digits is None,
        message=rule.message,
    )


@dataclass(frozen=True)
class CallUpdate:
    call_id: str
    agent: str | None
    customer_id: int | None
    queue: str | None
    known: bool


async def call_answered(
    session: AsyncSession,
    call_id: str,
    agent_login: str | None,
    *,
    channel: str = "phone",
    now: datetime | None = None,
) -> CallUpdate:
    """The call reached an agent: stamp it, and make the agent busy if routing did not."""
    now = now or utcnow()
    contact = await repo.get_contact(session, channel, call_id)
    if contact is None:
        return CallUpdate(call_id, agent_login, None, None, known=False)
    agent_id = contact.agent_id
    login = contact.agent_login
    if agent_login and agent_login != contact.agent_login:
        from storage.users import get_by_login

        user = await get_by_login(session, agent_login)
        if user is not None:
            if contact.agent_id is not None:
                await repo.release_agent(session, contact.agent_id, now)
            await repo.claim_agent(session, user.id, now)
            agent_id, login = user.id, user.login
    if contact.answered_at is None:
        await repo.update_contact(session, channel, call_id, answered_at=now, agent_id=agent_id)
    await session.commit()
    return CallUpdate(call_id, login, contact.customer_id, contact.queue, known=True)


async def call_ended(
    session: AsyncSession,
    call_id: str,
    *,
    channel: str = "phone",
    cause: str | None = None,
    duration: int | None = None,
    now: datetime | None = None,
) -> CallUpdate:
    now = now or utcnow()
    contact = await repo.get_contact(session, channel, call_id)
    if contact is None:
        return CallUpdate(call_id, None, None, None, known=False)
    if contact.ended_at is None:
        if duration is None and contact.answered_at is not None:
            duration = int((now - contact.answered_at).total_seconds())
        await repo.update_contact(
            session,
            channel,
            call_id,
            ended_at=now,
            duration_seconds=duration,
            disposition=contact.disposition or (cause if cause and contact.answered_at is None else None),
        )
        if contact.agent_id is not None:
            await repo.release_agent(session, contact.agent_id, now)
        await session.commit()
    return CallUpdate(call_id, contact.agent_login, contact.customer_id, contact.queue, known=True)


async def log_outbound(
    session: AsyncSession,
    call: InboundCall,
    agent_login: str | None,
    *,
    region: str = "CN",
    now: datetime | None = None,
) -> ContactView:
    """An outbound call (a callback, a dialer campaign) joins the customer's contact log."""
    now = now or utcnow()
    existing = await repo.get_contact(session, call.channel, call.call_id)
    if existing is not None:
        return existing
    customer_id = None
    number = call.dialled or ""
    try:
        number = normalise_phone(number, region)
        facts = await repo.caller_facts(session, "phone", number)
        customer_id = facts.customer_id if facts else None
    except InvalidInput:
        pass
    agent_id = None
    if agent_login:
        from storage.users import get_by_login

        user = await get_by_login(session, agent_login)
        agent_id = user.id if user else None
    await repo.insert_contact(
        session,
        channel=call.channel,
        direction="out",
        external_id=call.call_id,
        customer_id=customer_id,
        from_number=(call.caller or "")[:32],
        to_number=number[:32],
        agent_id=agent_id,
        action="outbound",
        reason="outbound",
        created_at=now,
        ringing_at=now,
    )
    await session.commit()
    stored = await repo.get_contact(session, call.channel, call.call_id)
    if stored is None:
        raise InvalidInput("call could not be logged", field="call_id")
    return stored
