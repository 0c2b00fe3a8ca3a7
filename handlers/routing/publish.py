"""What call routing tells the rest of the desk on the event bus: the `calls` channel moves
agents' screen pops, the `supervisor` channel the live queue and agent view."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from storage.events import CALLS, SUPERVISOR, EventBus


async def call_event(
    events: EventBus,
    kind: str,
    call_id: str,
    *,
    agent: str | None,
    customer_id: int | None,
    queue: str | None,
) -> None:
    """call_offered, call_answered or call_ended, with the agent's login for the screen pop."""
    await events.publish(
        CALLS, {"type": kind, "call_id": call_id, "agent": agent, "customer_id": customer_id, "queue": queue}
    )


async def agent_state(events: EventBus, agent: str, state: str) -> None:
    await events.publish(SUPERVISOR, {"type": "agent_state", "agent": agent, "state": state})


async def queues_changed(events: EventBus) -> None:
    await events.publish(SUPERVISOR, {"type": "queues_changed"})


async def routed(
    events: EventBus, call_id: str, *, agent: str | None, customer_id: int | None, queue: str | None
) -> None:
    """A new call: the offered agent's screen pop and state, and the queues. Published at
    once, so that a bus that batches sends them in one go."""
    sends: list[Awaitable[None]] = []
    if agent:
        sends.append(
            call_event(events, "call_offered", call_id, agent=agent, customer_id=customer_id, queue=queue)
        )
        sends.append(agent_state(events, agent, "busy"))
    sends.append(queues_changed(events))
    await asyncio.gather(*sends)


async def ended(
    events: EventBus, call_id: str, *, agent: str | None, customer_id: int | None, queue: str | None
) -> None:
    """A call's end (announced again on a repeated hangup): the screen pop, the queues and
    the freed agent, published at once."""
    sends = [
        call_event(events, "call_ended", call_id, agent=agent, customer_id=customer_id, queue=queue),
        queues_changed(events),
    ]
    if agent:
        sends.append(agent_state(events, agent, "available"))
    await asyncio.gather(*sends)
