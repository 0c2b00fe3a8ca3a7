"""Routing a new inbound call: decide from the caller's facts and the rules, claim an
agent and log the contact, all in one transaction; a repeated call id gets the decision
already given."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import InvalidInput
from handlers.identities import mask
from handlers.phone_fast import PhoneReader
from handlers.routing.rules import InboundCall, Rule, Rules, choose
from storage import customers as customers_repo
from storage.models.base import utcnow
from storage.routing import callers, contact_log, presence
from storage.routing import queues as queues_repo
from storage.routing.callers import CallerFacts
from storage.routing.contact_log import ContactView, NewContact, Route
from storage.routing.presence import AgentEndpoint
from storage.routing.queues import QueueView

log = logging.getLogger(__name__)


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
    tier: str | None = None
    # Where the chosen agent is put through (Twilio Client identity or phone), if anywhere.
    endpoint: AgentEndpoint | None = None
    ivr: bool = False
    message: str | None = None
    fallback: bool = False
    repeat: bool = False
    contact_id: int | None = field(default=None, compare=False)


def caller_language(known: bool, language: str | None, caller: str | None, region: str) -> str:
    """The language a caller is greeted in: their record's; for an unknown caller, English when
    their number is from another country than ours (`region`), else Chinese."""
    if language or known:
        return language or "zh"
    if caller and caller.startswith("+"):
        own = _own_country_prefix(region.upper())
        if own is not None and caller.startswith(own):
            return "zh"  # what the parse below would find, without its cost on every call
        try:
            country = phonenumbers.region_code_for_number(phonenumbers.parse(caller))
        except phonenumbers.NumberParseException:
            return "zh"
        if country and country != region.upper():
            return "en"
    return "zh"


async def decision_of(session: AsyncSession, contact: ContactView, rules: Rules, *, region: str) -> Decision:
    """The decision already given for this call, told the same way (name, language, the menu
    while the caller has not answered it)."""
    rule = next((r for r in rules.rules if r.name == contact.reason), None)
    customer = (
        await customers_repo.get(session, contact.customer_id, details=False) if contact.customer_id else None
    )
    return Decision(
        action=contact.action,
        queue=contact.queue,
        priority=contact.priority,
        reason=contact.reason,
        skills=contact.skills,
        agent=contact.agent_login,
        endpoint=await presence.agent_endpoint(session, contact.agent_login) if contact.agent_login else None,
        customer_id=contact.customer_id,
        customer_name=customer.name if customer else None,
        language=caller_language(
            customer is not None, customer.language if customer else None, contact.from_number, region
        ),
        tier=customer.tier if customer else None,
        ivr=rule is not None and rule.ivr and contact.ivr_digits is None and contact.action == "route",
        message=rule.message if rule else None,
        fallback=contact.fallback,
        repeat=True,
        contact_id=contact.id,
    )


def new_decision(rule: Rule, call: InboundCall, action: str, queue: str | None, **who: Any) -> Decision:
    """A new call's decision by `rule`; `who`: the caller's and the agent's fields."""
    return Decision(
        action=action,
        queue=queue,
        priority=rule.priority,
        reason=rule.name,
        skills=rule.skills,
        ivr=rule.ivr and call.ivr_digits is None,
        message=rule.message,
        **who,
    )


@cache
def _own_country_prefix(region: str) -> str | None:
    """`+86` for CN: a number starting so is from `region`, when that calling code belongs
    to `region` alone (country codes are prefix-free; +1 is shared, so it has none)."""
    code = phonenumbers.country_code_for_region(region)
    if code and phonenumbers.region_codes_for_country_code(code) == (region,):
        return f"+{code}"
    return None


@cache
def _reader(region: str) -> PhoneReader:
    return PhoneReader(region)


def caller_number(call: InboundCall, region: str) -> str | None:
    """The caller's number in E.164; None for a withheld or malformed caller id (a stranger,
    not an error). Read as `normalise_phone` reads it, through the import's fast path for
    the region's mobiles (handlers/phone_fast.py): `phonenumbers` was a twentieth of a routed
    call's CPU."""
    if not call.caller:
        return None
    try:
        return _reader(region.upper()).read(call.caller)
    except InvalidInput:
        return None


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
    existing = await contact_log.get_contact(session, call.channel, call.call_id)
    if existing is not None and not (call.ivr_digits and existing.ivr_digits is None):
        return await decision_of(session, existing, rules, region=region)

    caller = caller_number(call, region)
    facts: CallerFacts | None = None
    if caller is not None:
        facts = await callers.caller_facts(session, "phone", caller)
    if queues is None:
        queues = await queues_repo.queues(session)
    rule, queue = choose(rules, facts, call, queues, now)
    language = caller_language(facts is not None, facts.language if facts else None, caller, region)
    action = rule.action if rule.action == "reject" else ("route" if queue else "callback")

    agent: tuple[int, str] | None = None
    if action == "route" and not (rule.ivr and call.ivr_digits is None):
        agent = await presence.claim_longest_idle(
            session, rule.skills, language if rule.agent_language else None, now
        )

    # Read within routing's budget, not after it: the platform is waiting for this answer.
    endpoint = await presence.agent_endpoint(session, agent[1]) if agent else None
    route = Route(
        action=action,
        reason=rule.name,
        queue=queue,
        priority=rule.priority,
        agent_id=agent[0] if agent else None,
        skills=rule.skills,
        ivr_digits=call.ivr_digits,
    )
    if existing is not None:  # the IVR answer of a call we already logged
        await contact_log.set_route(session, call.channel, call.call_id, route)
    elif not await contact_log.insert_contact(
        session,
        NewContact(
            channel=call.channel,
            direction=call.direction,
            external_id=call.call_id,
            customer_id=facts.customer_id if facts else None,
            from_number=caller or (call.caller or "")[:32],
            to_number=(call.dialled or "")[:32],
            created_at=now,
        ),
        route,
    ):
        await session.rollback()  # a concurrent delivery logged it first: answer as it did
        stored = await contact_log.get_contact(session, call.channel, call.call_id)
        if stored is None:
            raise InvalidInput("call could not be logged", field="call_id")
        return await decision_of(session, stored, rules, region=region)
    await session.commit()
    log.info(
        "call %s from %s: %s %s (rule %s)", call.call_id, mask(caller or "unknown"), action, queue, rule.name
    )
    return new_decision(
        rule,
        call,
        action,
        queue,
        agent=agent[1] if agent else None,
        endpoint=endpoint,
        customer_id=facts.customer_id if facts else None,
        customer_name=facts.name if facts else None,
        language=language,
        tier=facts.tier if facts else None,
    )
