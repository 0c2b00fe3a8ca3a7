"""What the inbox tells agents' consoles on the event bus (the `inbox` channel). Events name
the agent whose sockets show them and carry ids, not customers' words: a socket reads what
it shows from the database, after checking its user is still signed in (and NOTIFY's
payload is small)."""

from __future__ import annotations

from storage.events import INBOX, SUPERVISOR, EventBus


async def _floor_moved(events: EventBus) -> None:
    """Supervisors' wallboards read their chat figures again (queues waiting, chats held)."""
    await events.publish(SUPERVISOR, {"type": "queues_changed"})


async def offered(events: EventBus, conversation_id: int, agent: str) -> None:
    await events.publish(INBOX, {"type": "chat_offered", "conversation_id": conversation_id, "agent": agent})
    await _floor_moved(events)


async def message(events: EventBus, conversation_id: int, message_id: int, agent: str | None) -> None:
    await events.publish(
        INBOX,
        {
            "type": "chat_message",
            "conversation_id": conversation_id,
            "message_id": message_id,
            "agent": agent,
        },
    )


async def delivery(
    events: EventBus, conversation_id: int, message_id: int, state: str, agent: str | None
) -> None:
    await events.publish(
        INBOX,
        {
            "type": "chat_delivery",
            "conversation_id": conversation_id,
            "message_id": message_id,
            "state": state,
            "agent": agent,
        },
    )


async def closed(events: EventBus, conversation_id: int, agent: str | None, reason: str) -> None:
    """The conversation left the agent's hands: closed, or transferred away."""
    await events.publish(
        INBOX, {"type": "chat_closed", "conversation_id": conversation_id, "agent": agent, "reason": reason}
    )
    await _floor_moved(events)


async def queued(events: EventBus, conversation_id: int, queue: str) -> None:
    """A conversation waits in a queue (for supervisors' views)."""
    await events.publish(INBOX, {"type": "chat_queued", "conversation_id": conversation_id, "queue": queue})
    await _floor_moved(events)
