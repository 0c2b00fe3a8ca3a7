"""What call routing tells the rest of the desk on the event bus: the `calls` channel moves
agents' screen pops, the `supervisor` channel the live queue and agent view."""

from __future__ import annotations

from storage.events import CALLS, SUPERVISOR, Event, EventBus


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
    await events.publish(CALLS, _call(kind, call_id, agent, customer_id, queue))


async def agent_state(events: EventBus, agent: str, state: str) -> None:
    await events.publish(SUPERVISOR, {"type": "agent_state", "agent": agent, "state": state})


async def queues_changed(events: EventBus) -> None:
    await events.publish(SUPERVISOR, {"type": "queues_changed"})


def _call(kind: str, call_id: str, agent: str | None, customer_id: int | None, queue: str | None) -> Event:
    return {"type": kind, "call_id": call_id, "agent": agent, "customer_id": customer_id, "queue": queue}


async def routed(
    events: EventBus, call_id: str, *, agent: str | None, customer_id: int | None, queue: str | None
) -> None:
    """A new call: the offered agent's screen pop and state, and the queues, in one go."""
    sends: list[tuple[str, Event]] = []
    if agent:
        sends.append((CALLS, _call("call_offered", call_id, agent, customer_id, queue)))
        sends.append((SUPERVISOR, {"type": "agent_state", "agent": agent, "state": "busy"}))
    sends.append((SUPERVISOR, {"type": "queues_changed"}))
    await events.publish_all(sends)


async def ended(
    events: EventBus, call_id: str, *, agent: str | None, customer_id: int | None, queue: str | None
) -> None:
    """A call's end (announced again on a repeated hangup): the screen pop, the queues and
    the freed agent, in one go."""
    sends: list[tuple[str, Event]] = [
        (CALLS, _call("call_ended", call_id, agent, customer_id, queue)),
        (SUPERVISOR, {"type": "queues_changed"}),
    ]
    if agent:
        sends.append((SUPERVISOR, {"type": "agent_state", "agent": agent, "state": "available"}))
    await events.publish_all(sends)
