"""A call's progress after routing: answered by an agent, ended, or placed by us (an
outbound call joins the contact log too). Each use case commits its own writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import InvalidInput
from handlers.identities import normalise_phone
from handlers.inputs import whole_number
from handlers.routing import publish
from handlers.routing.rules import InboundCall
from storage.events import EventBus
from storage.models.base import utcnow
from storage.routing import callers, contact_log, presence
from storage.routing.contact_log import ContactView, NewContact, Route
from storage.users import UserRecord, get_active_by, get_by_login

VOICEMAIL = "voicemail"  # Zammad's `user` when the voicemail took the call


@dataclass(frozen=True)
class CallUpdate:
    call_id: str
    agent: str | None
    customer_id: int | None
    queue: str | None
    known: bool
    ignored: bool = False  # an answer after the hangup: nothing changed


@dataclass(frozen=True)
class Answerer:
    """Who the PBX says took the call: the number that answered (Zammad's `answeringNumber`:
    an agent's phone, login or id) and the names it sent (`user`, our `agent`)."""

    number: str | None = None
    names: tuple[str, ...] = ()

    @property
    def voicemail(self) -> bool:
        return not self.number and self.names == (VOICEMAIL,)


async def _active_login(session: AsyncSession, login: str) -> UserRecord | None:
    user = await get_by_login(session, login) or await get_by_login(session, login.lower())
    return user if user is not None and user.active else None


async def find_agent(session: AsyncSession, answerer: Answerer, region: str) -> UserRecord | None:
    """As Zammad finds who answered: by the answering number (the agent's phone, then their
    login, then their id), then by the names sent, each as a login. Only active users."""
    if answerer.number:
        try:
            user = await get_active_by(session, phone=normalise_phone(answerer.number, region))
        except InvalidInput:
            user = None
        user = user or await _active_login(session, answerer.number)
        user_id = whole_number(answerer.number, low=1)
        if user is None and user_id is not None:
            user = await get_active_by(session, user_id=user_id)
        if user is not None:
            return user
    for name in answerer.names:
        user = await _active_login(session, name)
        if user is not None:
            return user
    return None


async def answered(
    session: AsyncSession,
    events: EventBus,
    call_id: str,
    answerer: Answerer,
    *,
    region: str,
    channel: str = "phone",
    now: datetime | None = None,
) -> CallUpdate:
    """The call reached an agent (or the voicemail): stamp it, make the agent busy if
    routing did not, and tell the agent's screen pop and the supervisor view (after the
    commit, so that what they read back is there). An answer after the hangup changes
    nothing, as in Zammad: the PBX's events may cross."""
    now = now or utcnow()
    contact = await contact_log.get_contact(session, channel, call_id)
    if contact is None:
        return CallUpdate(call_id, None, None, None, known=False)
    if contact.ended_at is not None:
        return CallUpdate(
            call_id, contact.agent_login, contact.customer_id, contact.queue, True, ignored=True
        )
    agent_id = contact.agent_id
    login = contact.agent_login
    switched = False
    if answerer.voicemail:
        if contact.agent_id is not None:  # the agent routing offered it to is free again
            await presence.release_agent(session, contact.agent_id, now)
        agent_id, login, switched = None, None, contact.agent_id is not None
        if contact.answered_at is None:
            await contact_log.mark_answered(
                session, channel, call_id, answered_at=now, agent_id=None, disposition=VOICEMAIL
            )
    else:
        user = await find_agent(session, answerer, region)
        if user is not None and user.id != contact.agent_id:
            if contact.agent_id is not None:
                await presence.release_agent(session, contact.agent_id, now)
            await presence.claim_agent(session, user.id, now)
            agent_id, login, switched = user.id, user.login, True
        if contact.answered_at is None:
            await contact_log.mark_answered(session, channel, call_id, answered_at=now, agent_id=agent_id)
    await session.commit()
    update = CallUpdate(call_id, login, contact.customer_id, contact.queue, known=True)
    await publish.call_event(
        events, "call_answered", call_id, agent=login, customer_id=update.customer_id, queue=update.queue
    )
    await publish.queues_changed(events)
    if switched:
        # Another agent (or the voicemail) took the call: both consoles show their availability again.
        if login:
            await publish.agent_state(events, login, "busy")
        if contact.agent_login:
            await publish.agent_state(events, contact.agent_login, "available")
    return update


async def ended(
    session: AsyncSession,
    events: EventBus,
    call_id: str,
    *,
    channel: str = "phone",
    cause: str | None = None,
    duration: int | None = None,
    now: datetime | None = None,
) -> CallUpdate:
    """The call is over: stamp it once (a repeated hangup changes nothing but is announced
    again), free its agent, and tell the screen pop and the supervisor view."""
    now = now or utcnow()
    contact = await contact_log.get_contact(session, channel, call_id)
    if contact is None:
        return CallUpdate(call_id, None, None, None, known=False)
    if contact.ended_at is None:
        if duration is None and contact.answered_at is not None:
            duration = int((now - contact.answered_at).total_seconds())
        stamped = await contact_log.mark_ended(
            session,
            channel,
            call_id,
            ended_at=now,
            duration_seconds=duration,
            disposition=contact.disposition or (cause if cause and contact.answered_at is None else None),
        )
        if stamped and contact.agent_id is not None:
            await presence.release_agent(session, contact.agent_id, now)
        await session.commit()
    update = CallUpdate(call_id, contact.agent_login, contact.customer_id, contact.queue, known=True)
    await publish.ended(
        events, call_id, agent=update.agent, customer_id=update.customer_id, queue=update.queue
    )
    return update


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
    existing = await contact_log.get_contact(session, call.channel, call.call_id)
    if existing is not None:
        return existing
    customer_id = None
    number = call.dialled or ""
    try:
        number = normalise_phone(number, region)
        facts = await callers.caller_facts(session, "phone", number)
        customer_id = facts.customer_id if facts else None
    except InvalidInput:
        pass
    agent_id = None
    if agent_login:
        user = await get_by_login(session, agent_login)
        agent_id = user.id if user else None
    await contact_log.insert_contact(
        session,
        NewContact(
            channel=call.channel,
            direction="out",
            external_id=call.call_id,
            customer_id=customer_id,
            from_number=(call.caller or "")[:32],
            to_number=number[:32],
            created_at=now,
        ),
        Route(action="outbound", reason="outbound", agent_id=agent_id),
    )
    await session.commit()
    stored = await contact_log.get_contact(session, call.channel, call.call_id)
    if stored is None:
        raise InvalidInput("call could not be logged", field="call_id")
    return stored
