"""What call routing tells the rest of the desk on the event bus: the `calls` channel moves
agents' screen pops, the `supervisor` channel the live queue and agent view."""

from __future__ import annotations

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
