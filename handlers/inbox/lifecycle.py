"""A conversation's life after routing: read with its transcript (audited like every read of
a customer's data), listed, transferred to another agent or queue, closed with a disposition
(asking the CSAT question once, linked to the conversation and its agent), or left by the
customer for a callback or a complaint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import surveys
from handlers.errors import Conflict, InvalidInput, NotFound
from handlers.inbox import publish
from handlers.inbox.messages import owned_by
from handlers.inbox.routing import InboxPolicy, claim, offer_waiting
from handlers.roles import AGENT
from storage import inbox as repo
from storage.audit import Actor, audit, audit_each_customer
from storage.events import EventBus
from storage.inbox import LIVE_STATES, STATES, ConversationView, MessageView
from storage.models.base import utcnow
from storage.routing import contact_log
from storage.routing import queues as queues_repo
from storage.routing.contact_log import NewContact, Route
from storage.users import UserRecord, get_by_login

DISPOSITION_LENGTH = 64
# What the customer chose instead of waiting, as the conversation's disposition.
LEFT_FOR = {"callback": "callback-requested", "complaint": "complaint-instead"}


@dataclass(frozen=True)
class Transcript:
    conversation: ConversationView
    messages: tuple[MessageView, ...]


async def _owned(session: AsyncSession, user: UserRecord, conversation_id: int) -> ConversationView:
    conversation = await repo.get(session, conversation_id, lock=True)
    if conversation is None:
        raise NotFound("no such conversation", conversation_id=conversation_id)
    owned_by(conversation, user)
    return conversation


async def list_conversations(
    session: AsyncSession,
    user: UserRecord,
    *,
    state: str | None,
    agent: str | None,
    via: str,
    limit: int = 100,
) -> list[ConversationView]:
    """Live conversations unless a state is asked for; an agent sees their own (and the
    waiting line), supervisors anyone's. Each customer listed is audited."""
    if state is not None and state not in STATES:
        raise InvalidInput("unknown conversation state", field="state", allowed=list(STATES))
    agent_id = None
    if agent is not None:
        found = await get_by_login(session, agent)
        if found is None:
            raise NotFound(f"no user {agent!r}", login=agent)
        agent_id = found.id
    if user.role == AGENT and state != "waiting":
        if agent_id not in (None, user.id):
            raise InvalidInput("agents list their own conversations", field="agent")
        agent_id = user.id
    found_list = await repo.search(
        session, states=(state,) if state else LIVE_STATES, agent_id=agent_id, limit=limit
    )
    await audit_each_customer(
        session,
        actor=Actor.of(user, via),
        action="conversation.list",
        shown=[(c.customer_id, c.id) for c in found_list],
        key="conversations",
    )
    await session.commit()
    return found_list


async def read(
    session: AsyncSession,
    user: UserRecord,
    conversation_id: int,
    *,
    via: str,
    customer_id: int | None = None,
) -> Transcript:
    """The conversation and its transcript; an agent reads the ones they own or owned.
    With `customer_id` (a profile's link), another customer's conversation is not found,
    and so neither read nor audited."""
    conversation = await repo.get(session, conversation_id)
    if conversation is None or customer_id not in (None, conversation.customer_id):
        raise NotFound("no such conversation", conversation_id=conversation_id)
    owned_by(conversation, user)
    messages = tuple(await repo.messages(session, conversation_id))
    await audit(
        session,
        actor=Actor.of(user, via),
        action="conversation.read",
        customer_id=conversation.customer_id,
        subject_type="conversation",
        subject_id=conversation_id,
        details={},
    )
    await session.commit()
    return Transcript(conversation, messages)


async def transfer(
    session: AsyncSession,
    events: EventBus,
    policy: InboxPolicy,
    user: UserRecord,
    conversation_id: int,
    *,
    agent: str | None,
    queue: str | None,
    via: str,
    now: datetime | None = None,
) -> ConversationView:
    """To another agent (who must have a free chat place) or back to a queue's waiting line."""
    if (agent is None) == (queue is None):
        raise InvalidInput("transfer to an agent or to a queue", field="agent")
    now = now or utcnow()
    conversation = await _owned(session, user, conversation_id)
    if conversation.state not in LIVE_STATES:
        raise Conflict("this conversation is closed", error_id="conversation-closed")
    if agent is not None:
        target = await get_by_login(session, agent)
        if target is None or not target.active:
            raise NotFound(f"no user {agent!r}", login=agent)
        if target.id == conversation.agent_id:
            raise Conflict("the conversation is already theirs", error_id="same-agent")
        await repo.lock_agent(session, target.id)
        held, limit = await repo.open_chats(session, target.id)
        if held >= limit:
            raise Conflict(f"{agent} already holds {held} chats", error_id="agent-full")
        await repo.assign(session, conversation_id, target.id, now, from_states=LIVE_STATES)
    else:
        assert queue is not None  # noqa: S101 - checked above
        if queue not in await queues_repo.queues(session):
            raise NotFound(f"no queue {queue!r}", queue=queue)
        # Queue membership is a skill named after the queue (docs/DESIGN.md, users).
        await repo.requeue(session, conversation_id, queue, (queue,))
    await audit(
        session,
        actor=Actor.of(user, via),
        action="conversation.transfer",
        customer_id=conversation.customer_id,
        subject_type="conversation",
        subject_id=conversation_id,
        details={"agent": agent} if agent else {"queue": queue},
    )
    await session.commit()
    if conversation.agent:
        await publish.closed(events, conversation_id, conversation.agent, "transferred")
    if agent is not None:
        await publish.offered(events, conversation_id, agent)
    else:
        moved = await repo.get(session, conversation_id)
        if moved is not None and (chosen := await claim(session, moved, now)) is not None:
            await session.commit()
            await publish.offered(events, conversation_id, chosen.login)
        else:
            await session.rollback()
            await publish.queued(events, conversation_id, str(queue))
    if conversation.agent_id is not None:
        await offer_waiting(session, events, policy, now)  # the old agent has a place free
    updated = await repo.get(session, conversation_id)
    if updated is None:
        raise NotFound("no such conversation", conversation_id=conversation_id)
    return updated


async def close(
    session: AsyncSession,
    events: EventBus,
    policy: InboxPolicy,
    user: UserRecord,
    conversation_id: int,
    disposition: str,
    now: datetime | None = None,
) -> ConversationView:
    """Close with the agent's disposition; a customer an agent talked with is asked the CSAT
    question once (the survey names the conversation and the agent)."""
    text = disposition.strip()
    if not text or len(text) > DISPOSITION_LENGTH:
        raise InvalidInput(f"a disposition is 1 to {DISPOSITION_LENGTH} characters", field="disposition")
    now = now or utcnow()
    conversation = await _owned(session, user, conversation_id)
    if conversation.state not in LIVE_STATES:
        raise Conflict("this conversation is already closed", error_id="conversation-closed")
    survey_id = None
    if conversation.agent_id is not None:
        survey = await surveys.queue_survey(
            session,
            customer_id=conversation.customer_id,
            kind="csat",
            trigger="chat",
            agent_id=conversation.agent_id,
            external_ref=f"inbox:{conversation_id}",
            now=now,
        )
        survey_id = survey.id
    await repo.close(session, conversation_id, now, text, survey_id)
    await session.commit()
    await publish.closed(events, conversation_id, conversation.agent, "closed")
    if conversation.agent_id is not None:
        await offer_waiting(session, events, policy, now)
    closed = await repo.get(session, conversation_id)
    if closed is None:
        raise NotFound("no such conversation", conversation_id=conversation_id)
    return closed


async def leave_queue(
    session: AsyncSession, events: EventBus, customer_id: int, choice: str, now: datetime | None = None
) -> ConversationView | None:
    """The waiting customer chose a callback or a complaint instead: the conversation ends
    (a callback request joins the contact log in the conversation's queue, as a call's does).
    None when they were not waiting (an agent took it meanwhile, or it was already closed)."""
    if choice not in LEFT_FOR:
        raise InvalidInput("a callback or a complaint", field="choice", allowed=list(LEFT_FOR))
    now = now or utcnow()
    conversation = await repo.live_for_customer(session, customer_id)
    if conversation is None or conversation.state != "waiting":
        return None
    if not await repo.close(session, conversation.id, now, LEFT_FOR[choice], None):
        return None
    if choice == "callback":
        await contact_log.insert_contact(
            session,
            NewContact(
                channel=conversation.channel,
                direction="in",
                external_id=f"inbox:{conversation.id}",
                customer_id=customer_id,
                from_number="",
                to_number="",
                created_at=now,
            ),
            Route(action="callback", reason=conversation.reason, queue=conversation.queue),
        )
    await session.commit()
    await publish.closed(events, conversation.id, None, LEFT_FOR[choice])
    return conversation


async def held_by(session: AsyncSession, user: UserRecord) -> list[ConversationView]:
    """The agent's open conversations (a reconnecting console gets them again)."""
    return await repo.search(session, states=("open",), agent_id=user.id)


async def of_customer(session: AsyncSession, customer_id: int) -> list[ConversationView]:
    """The customer's recent conversations, for their profile (read and audited with it);
    each transcript is read through `read`."""
    return await repo.of_customer(session, customer_id)
