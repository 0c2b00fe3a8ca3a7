"""Handing a customer to a person: the conversation is routed by the rules calls follow
(handlers/routing/rules.py: tier, open complaint, language and skills) and claims the agent
with the fewest chats among those who may take one; nobody free, or the queue closed, and it
waits in its queue, offered as agents free up (`offer_waiting`).

A chat is not a call: it does not take an agent's call capacity (agent_states), and an agent
on a call may still take chats, up to their own limit (users.max_chats). Wrap-up and offline
agents take none."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import notify
from handlers.calendar import WorkCalendar
from handlers.inbox import publish
from handlers.routing.rules import InboundCall, Rules, choose, is_open
from storage import customers as customers_repo
from storage import inbox as repo
from storage.events import EventBus
from storage.inbox import ChatAgent, ConversationView, NewConversation
from storage.models.base import utcnow
from storage.routing import callers
from storage.routing import queues as queues_repo

log = logging.getLogger(__name__)

# The agent states in which a person takes chats (storage/inbox.py says why).
CHATTING_STATES = repo.CHATTING_STATES

# The expected wait when a queue has no recent history: this many minutes for each
# conversation to be served before the customer's (theirs included).
MINUTES_PER_CONVERSATION = 3
# How far back the queue's history counts for the expected wait.
HISTORY = timedelta(hours=2)


@dataclass(frozen=True)
class InboxPolicy:
    """The rules calls are routed by, and the operator's holidays (the queues are closed)."""

    rules: Rules
    calendar: WorkCalendar


@dataclass(frozen=True)
class Handoff:
    """What the customer is told. outcome: `assigned` (an agent has it), `waiting` (in the
    queue: `wait_minutes`), `closed` (waiting, outside opening hours), `refused` (blacklisted)."""

    outcome: str
    conversation_id: int | None
    queue: str | None = None
    agent_name: str | None = None
    wait_minutes: int | None = None
    already: bool = False  # the customer was already in a conversation


def _open_now(
    policy: InboxPolicy, queue: str, queues: dict[str, queues_repo.QueueView], now: datetime
) -> bool:
    local = now.astimezone(ZoneInfo(policy.calendar.timezone)).date()
    return local not in policy.calendar.holidays and is_open(queues.get(queue), now)


async def claim(session: AsyncSession, conversation: ConversationView, now: datetime) -> ChatAgent | None:
    """Give the waiting conversation to the first agent who may take it; the caller commits."""
    for candidate in await repo.chat_agents(session, conversation.skills, conversation.agent_language):
        await repo.lock_agent(session, candidate.user_id)
        held, limit = await repo.open_chats(session, candidate.user_id)
        if held < limit and await repo.assign(
            session, conversation.id, candidate.user_id, now, from_states=("waiting",)
        ):
            return candidate
    return None


async def expected_wait(session: AsyncSession, conversation: ConversationView, now: datetime) -> int:
    """Minutes, from the queue's recent waits, or MINUTES_PER_CONVERSATION for each one ahead."""
    ahead = await repo.waiting_ahead(session, conversation)
    recent = await repo.recent_wait_seconds(session, conversation.queue, now - HISTORY)
    if recent is not None:
        return max(1, math.ceil(recent / 60))
    return MINUTES_PER_CONVERSATION * (ahead + 1)


async def _told(
    session: AsyncSession, conversation: ConversationView, policy: InboxPolicy, now: datetime
) -> Handoff:
    if conversation.state == "open":
        return Handoff(
            "assigned", conversation.id, conversation.queue, agent_name=first_name(conversation), already=True
        )
    queues = await queues_repo.queues(session)
    outcome = "waiting" if _open_now(policy, conversation.queue, queues, now) else "closed"
    wait = await expected_wait(session, conversation, now)
    return Handoff(outcome, conversation.id, conversation.queue, wait_minutes=wait, already=True)


def first_name(conversation: ConversationView) -> str | None:
    """How the customer knows their agent: the first word of the agent's name."""
    return conversation.agent_name.split()[0] if conversation.agent_name else None


async def ask_for_agent(
    session: AsyncSession,
    events: EventBus,
    policy: InboxPolicy,
    *,
    customer_id: int,
    channel: str,
    address: str,
    now: datetime | None = None,
) -> Handoff:
    """The customer asks for a person (a button, /agent, the Rasa assistant). A second ask
    while a conversation is live is told where it stands, not routed again."""
    now = now or utcnow()
    customer = await customers_repo.get(session, customer_id, details=False)
    if customer is None or customer.blacklisted:
        return Handoff("refused", None)
    live = await repo.live_for_customer(session, customer_id)
    if live is not None:
        return await _told(session, live, policy, now)
    facts = await callers.caller_facts(session, channel, address)
    queues = await queues_repo.queues(session)
    rule, routed = choose(
        policy.rules, facts, InboundCall(call_id="", caller=None, channel=channel), queues, now
    )
    if rule.action == "reject":
        return Handoff("refused", None)
    queue = routed or rule.queue
    language = customer.language or "zh"
    new_id = await repo.insert(
        session,
        NewConversation(
            customer_id=customer_id,
            channel=channel,
            address=address,
            queue=queue,
            priority=rule.priority,
            reason=rule.name,
            skills=rule.skills,
            agent_language=language if rule.agent_language else None,
            created_at=now,
        ),
    )
    conversation = await repo.get(session, new_id) if new_id is not None else None
    if conversation is None:  # a concurrent ask made it first
        await session.rollback()
        live = await repo.live_for_customer(session, customer_id)
        if live is None:
            return Handoff("refused", None)
        return await _told(session, live, policy, now)
    opened = routed is not None and _open_now(policy, queue, queues, now)
    agent = await claim(session, conversation, now) if opened else None
    await session.commit()
    log.info("conversation %s for customer %s: queue %s, agent %s", new_id, customer_id, queue, agent)
    if agent is not None:
        await publish.offered(events, conversation.id, agent.login)
        claimed = await repo.get(session, conversation.id)
        return Handoff(
            "assigned", conversation.id, queue, agent_name=first_name(claimed) if claimed else None
        )
    await publish.queued(events, conversation.id, queue)
    wait = await expected_wait(session, conversation, now)
    return Handoff("waiting" if opened else "closed", conversation.id, queue, wait_minutes=wait)


async def offer_waiting(
    session: AsyncSession, events: EventBus, policy: InboxPolicy, now: datetime | None = None, limit: int = 50
) -> int:
    """Offer waiting conversations (priority, then age) to agents who may take them now: when
    a chat closes or moves, an agent becomes available, and periodically. The customer is
    told who joined through the outbox. Returns how many were offered."""
    now = now or utcnow()
    queues = await queues_repo.queues(session)
    offered = 0
    for conversation in await repo.search(session, states=("waiting",), limit=limit):
        if not _open_now(policy, conversation.queue, queues, now):
            continue
        agent = await claim(session, conversation, now)
        if agent is None:
            await session.rollback()  # let go of the agents' locks before the next one
            continue
        claimed = await repo.get(session, conversation.id)
        await notify.enqueue(
            session,
            conversation.customer_id,
            kind="chat_joined",
            template="chat_joined",
            payload={"agent": (first_name(claimed) if claimed else None) or ""},
            dedupe_key=f"inbox-joined:{conversation.id}:{agent.user_id}:{now.isoformat()}",
        )
        await session.commit()
        await publish.offered(events, conversation.id, agent.login)
        offered += 1
    return offered


async def run_sweeper(
    sessions: async_sessionmaker[AsyncSession],
    events: EventBus,
    policy: InboxPolicy,
    interval: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Offer the waiting line every `interval` seconds until cancelled: what no event moved
    (a queue that opened, an agent another instance freed without a chat closing)."""
    while True:
        try:
            async with sessions() as session:
                await offer_waiting(session, events, policy)
        except Exception:  # the sweeper must outlive a bad moment; the next pass retries
            log.exception("inbox sweep failed")
        await sleep(interval)
