"""A call routed to one agent is put through to them directly (their Twilio Client identity
or phone); when they do not answer, the offer is withdrawn and the caller waits in the
queue like everyone else."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.routing import publish
from handlers.routing.route import Decision, decision_of
from handlers.routing.rules import Rules
from storage.events import EventBus
from storage.models.base import utcnow
from storage.routing import contact_log, presence


async def not_answered(
    session: AsyncSession,
    events: EventBus,
    call_id: str,
    rules: Rules,
    *,
    region: str,
    channel: str = "phone",
    now: datetime | None = None,
) -> Decision | None:
    """The agent did not pick up (no answer, busy, unreachable): free them and give the call's
    decision without an agent, for the queue. A repeated report finds the offer withdrawn
    already and frees nobody a second time. None for a call never routed or already over
    (its end freed the agent)."""
    now = now or utcnow()
    contact = await contact_log.get_contact(session, channel, call_id)
    if contact is None or contact.ended_at is not None:
        return None
    if contact.agent_id is not None and await contact_log.withdraw_offer(
        session, channel, call_id, contact.agent_id
    ):
        await presence.release_agent(session, contact.agent_id, now)
        await session.commit()
        if contact.agent_login:
            await publish.agent_state(events, contact.agent_login, "available")
        await publish.queues_changed(events)
        contact = await contact_log.get_contact(session, channel, call_id)
        if contact is None:
            return None
    return await decision_of(session, contact, rules, region=region)
