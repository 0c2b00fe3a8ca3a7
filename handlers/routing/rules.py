"""The rule engine, pure: which rule a call matches, from who is calling (tier, blacklist,
open complaints, recent contacts, language, region), the IVR input and the time, and which
queue takes it after business hours and overflow. No database, no clock of its own."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from handlers.defaults import TIMEZONE
from handlers.errors import InvalidInput
from storage.routing.callers import CallerFacts
from storage.routing.queues import QueueView

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
    timezone: str = TIMEZONE
    default_queue: str = "general"


@dataclass(frozen=True)
class InboundCall:
    call_id: str
    caller: str | None
    dialled: str | None = None
    channel: str = "phone"
    direction: str = "in"
    ivr_digits: str | None = None
    queue: str | None = None  # the PBX's own queue (Zammad's `queue`): a hint, used when known


def load_rules(path: str | None = None, timezone: str = TIMEZONE) -> Rules:
    """The rule file at `path`, or the shipped default; a malformed file fails loudly at start."""
    if path:
        text = Path(path).read_text(encoding="utf-8")
    else:
        text = resources.files("handlers.routing").joinpath("rules.toml").read_text(encoding="utf-8")
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


# The conditions on who is calling (read from the database) and those on the call itself
# (known before any statement): the compiled rules (storage/routing/hot_path.py) evaluate
# the first kind in SQL and take the second from `call_holds`.
FACT_CONDITIONS = frozenset(
    {"known", "blacklisted", "tier", "open_complaint", "contacted_within_days", "language", "region"}
)


def _fact_holds(name: str, expected: Any, facts: CallerFacts | None, now: datetime) -> bool:
    if name == "known":
        return bool((facts is not None) == expected)
    if name == "blacklisted":
        return bool((facts is not None and facts.blacklisted) == expected)
    if name == "tier":
        return facts is not None and facts.tier in expected
    if name == "open_complaint":
        return bool((facts is not None and facts.open_complaint) == expected)
    if name == "contacted_within_days":
        return (
            facts is not None
            and facts.last_contact_at is not None
            and now - facts.last_contact_at <= timedelta(days=expected)
        )
    if name == "language":
        return facts is not None and (facts.language or "zh") in expected
    return facts is not None and facts.region in expected  # region


def call_holds(rule: Rule, call: InboundCall, now: datetime, timezone: str) -> bool:
    """Whether the rule's conditions on the call itself (IVR input, number dialled, hours,
    days) hold; the conditions on the caller are not looked at."""
    local = now.astimezone(ZoneInfo(timezone))
    for name, expected in rule.when.items():
        if name == "ivr" and call.ivr_digits not in expected:
            return False
        if name == "dialled" and call.dialled not in expected:
            return False
        if name == "hours" and not _in_hours(expected, local):
            return False
        if name == "days" and local.weekday() not in expected:
            return False
    return True


def matches(rule: Rule, facts: CallerFacts | None, call: InboundCall, now: datetime, timezone: str) -> bool:
    return call_holds(rule, call, now, timezone) and all(
        _fact_holds(name, expected, facts, now)
        for name, expected in rule.when.items()
        if name in FACT_CONDITIONS
    )


def resolve_queue(
    rule: Rule, call: InboundCall, queues: Mapping[str, QueueView], now: datetime
) -> str | None:
    """The queue `rule` sends the call to after business hours and overflow (None: leave a
    callback, or a reject). A queue the PBX named and we know replaces the rule's."""
    if rule.action == "reject":
        return None
    queue: str | None = call.queue if call.queue in queues else rule.queue
    seen: set[str] = set()
    while queue is not None and not is_open(queues.get(queue), now) and queue not in seen:
        seen.add(queue)
        queue = queues[queue].overflow
    return queue


def no_rule_matched(rules: Rules) -> Rule:
    return Rule(name="no-rule-matched", when={}, queue=rules.default_queue)


def is_open(queue: QueueView | None, now: datetime) -> bool:
    if queue is None or not queue.opens or not queue.closes:
        return True
    local = now.astimezone(ZoneInfo(queue.timezone))
    return local.weekday() in queue.days and _in_hours(f"{queue.opens}-{queue.closes}", local)


def choose(
    rules: Rules, facts: CallerFacts | None, call: InboundCall, queues: Mapping[str, QueueView], now: datetime
) -> tuple[Rule, str | None]:
    """The matching rule and the queue after business hours (None: leave a callback). A
    queue the PBX named and we know replaces the rule's; the rule still sets the priority
    and the skills."""
    rule = next((r for r in rules.rules if matches(r, facts, call, now, rules.timezone)), None)
    if rule is None:
        rule = no_rule_matched(rules)
    return rule, resolve_queue(rule, call, queues, now)
