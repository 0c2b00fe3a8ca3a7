"""Routing a new call with the rules compiled into one PostgreSQL statement
(storage/routing/hot_path.py): the same decision as `route.route_call`, in one round trip;
its events are published after the commit, as the Python engine's are (a NOTIFY inside
the statement held PostgreSQL's notification lock across the commit: docs/telephony.md).
A call id already logged (a repeated webhook, or the caller's answer to the IVR menu) goes
the Python engine's way, which knows both.
A call's end is one statement too (`end_compiled`): `calls.ended`'s work and events."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from handlers.errors import InvalidInput
from handlers.identities import mask
from handlers.routing import publish
from handlers.routing.calls import CallUpdate
from handlers.routing.route import Decision, caller_language, caller_number, log, new_decision
from handlers.routing.rules import InboundCall, Rules, call_holds, no_rule_matched, resolve_queue
from storage.events import EventBus
from storage.models.base import utcnow
from storage.routing.hot_path import REFUSED, CompiledRouting, CompiledRule, PerCall
from storage.routing.presence import AgentEndpoint
from storage.routing.queues import QueueView


def compiled_rules(rules: Rules) -> list[CompiledRule]:
    return [CompiledRule(r.name, dict(r.when), r.priority, r.skills, r.agent_language) for r in rules.rules]


def per_call(
    rules: Rules, call: InboundCall, queues: Mapping[str, QueueView], *, region: str, now: datetime
) -> tuple[PerCall, str | None]:
    """The call's side of the statement, and the caller's number as normalised."""
    caller = caller_number(call, region)
    every = (*rules.rules, no_rule_matched(rules))
    queue_of = [resolve_queue(r, call, queues, now) for r in every]
    actions = [
        r.action if r.action == "reject" else ("route" if q else "callback")
        for r, q in zip(every, queue_of, strict=True)
    ]
    return (
        PerCall(
            channel=call.channel,
            call_id=call.call_id,
            direction=call.direction,
            caller=caller,
            from_number=caller or (call.caller or "")[:32],
            to_number=(call.dialled or "")[:32],
            now=now,
            ivr_digits=call.ivr_digits,
            unknown_language=caller_language(False, None, caller, region),
            holds=[call_holds(r, call, now, rules.timezone) for r in every],
            actions=actions,
            queues=queue_of,
            claims=[
                a == "route" and not (r.ivr and call.ivr_digits is None)
                for r, a in zip(every, actions, strict=True)
            ],
        ),
        caller,
    )


async def route_compiled(
    compiled: CompiledRouting,
    call: InboundCall,
    rules: Rules,
    queues: Mapping[str, QueueView],
    *,
    region: str,
    now: datetime,
) -> Decision | None:
    """The decision for a new call, to be announced by the caller (`budget.decide`); None
    when the call id was logged before: then nothing was claimed or logged."""
    if not call.call_id.strip():
        raise InvalidInput("call_id is required", field="call_id")
    values, caller = per_call(rules, call, queues, region=region, now=now)
    routed = await compiled.route(values)
    if routed.contact_id is None:
        return None
    rule = rules.rules[routed.rule] if routed.rule < len(rules.rules) else no_rule_matched(rules)
    action, queue = values.actions[routed.rule], values.queues[routed.rule]
    log.info(
        "call %s from %s: %s %s (rule %s)", call.call_id, mask(caller or "unknown"), action, queue, rule.name
    )
    endpoint = (
        AgentEndpoint(twilio_client=routed.twilio_client or None, phone=routed.phone or None)
        if routed.agent and (routed.twilio_client or routed.phone)
        else None
    )
    return new_decision(
        rule,
        call,
        action,
        queue,
        agent=routed.agent,
        endpoint=endpoint,
        customer_id=routed.customer_id,
        customer_name=routed.customer_name,
        language=routed.language,
        tier=routed.tier,
        contact_id=routed.contact_id,
    )


async def end_compiled(
    compiled: CompiledRouting,
    events: EventBus,
    call_id: str,
    *,
    channel: str = "phone",
    cause: str | None = None,
    duration: int | None = None,
    now: datetime | None = None,
) -> CallUpdate | None:
    """`calls.ended` in one statement, then its events. None when the database refuses a
    value: the ORM's path reports it as usual."""
    try:
        ended = await compiled.end(channel, call_id, now or utcnow(), cause, duration)
    except REFUSED:
        return None
    if ended is None:
        return CallUpdate(call_id, None, None, None, known=False)
    await publish.ended(events, call_id, agent=ended.agent, customer_id=ended.customer_id, queue=ended.queue)
    return CallUpdate(call_id, ended.agent, ended.customer_id, ended.queue, known=True)
