"""Agent availability (the console's switch) and the contact log as agents see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import Forbidden, InvalidInput, NotFound
from handlers.roles import AGENT
from storage.models.base import utcnow
from storage.routing import contact_log, presence, queues
from storage.routing.contact_log import ContactView
from storage.routing.presence import AgentStateView
from storage.users import UserRecord, get_by_login

STATES = ("offline", "available", "busy", "wrap_up")


async def set_state(
    session: AsyncSession, login: str, state: str, now: datetime | None = None
) -> AgentStateView:
    if state not in STATES:
        raise InvalidInput("unknown agent state", field="state", allowed=list(STATES))
    user = await get_by_login(session, login)
    if user is None:
        raise NotFound(f"no user {login!r}", login=login)
    await presence.set_agent_state(session, user.id, state, now or utcnow())
    await session.commit()
    found = next((s for s in await presence.agent_states(session) if s.login == login), None)
    if found is None:
        raise NotFound(f"no agent state for {login!r}")
    return found


async def states(session: AsyncSession) -> list[AgentStateView]:
    return await presence.agent_states(session)


async def state_of(session: AsyncSession, user: UserRecord) -> str:
    """The agent's availability as the server holds it (offline until they set one)."""
    return await presence.state_name(session, user.id) or "offline"


async def recent_for_customer(session: AsyncSession, customer_id: int, limit: int = 5) -> list[ContactView]:
    return await contact_log.recent_contacts(session, customer_id, limit)


async def set_disposition(
    session: AsyncSession,
    actor: UserRecord,
    call_id: str,
    disposition: str,
    *,
    channel: str = "phone",
    notes: str | None = None,
) -> ContactView:
    """The agent's outcome of a call ("resolved on call", "callback promised", ...)."""
    text = disposition.strip()
    if not text or len(text) > 64:
        raise InvalidInput("a disposition is 1 to 64 characters", field="disposition")
    contact = await contact_log.get_contact(session, channel, call_id)
    if contact is None:
        raise NotFound("no such call", call_id=call_id)
    if actor.role == AGENT and contact.agent_id != actor.id:
        raise Forbidden("this call was not yours")
    await contact_log.set_disposition(session, channel, call_id, disposition=text, notes=notes)
    await session.commit()
    updated = await contact_log.get_contact(session, channel, call_id)
    if updated is None:
        raise NotFound("no such call", call_id=call_id)
    return updated


@dataclass(frozen=True)
class QueueWait:
    """Calls waiting in one queue and since when the longest of them has waited."""

    queue: str
    waiting: int
    oldest_at: datetime | None


async def queue_waits(session: AsyncSession, now: datetime) -> tuple[QueueWait, ...]:
    """Every queue, with its calls waiting (none for a quiet queue), by name."""
    stats = {s["queue"]: s for s in await queues.queue_stats(session, now)}
    return tuple(
        QueueWait(name, int(stats[name]["waiting"]), stats[name]["oldest_at"])
        if name in stats
        else QueueWait(name, 0, None)
        for name in sorted(await queues.queues(session))
    )


def served_by(user: UserRecord, waits: tuple[QueueWait, ...]) -> tuple[QueueWait, ...]:
    """The queues an agent serves (queue membership is a skill named after the queue); a
    supervisor or an agent in no queue sees them all."""
    served = tuple(w for w in waits if w.queue in user.skills)
    return served if user.role == AGENT and served else waits
