"""Inbox repository: conversations with a person and their messages. Nothing here commits:
the use case that calls it owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.db import dialect_insert
from storage.models import AgentState, Customer, InboxConversation, InboxMessage, User
from storage.routing.contact_log import aware

LIVE_STATES = ("waiting", "open")
STATES = ("waiting", "open", "resolved")
# The agent states in which a person takes chats: a call in progress (busy) does not stop
# them typing; wrap-up and offline do.
CHATTING_STATES = ("available", "busy")


@dataclass(frozen=True)
class ConversationView:
    id: int
    customer_id: int
    customer_name: str
    channel: str
    address: str
    state: str
    queue: str
    priority: int
    reason: str
    skills: tuple[str, ...]
    agent_language: str | None
    agent_id: int | None
    agent: str | None  # the owning agent's login
    agent_name: str | None
    created_at: datetime
    assigned_at: datetime | None
    first_reply_at: datetime | None
    closed_at: datetime | None
    disposition: str | None
    survey_id: int | None


@dataclass(frozen=True)
class MessageView:
    id: int
    conversation_id: int
    direction: str  # in | out
    author: str | None  # the agent's login for an outgoing message
    text: str
    photo: str | None
    created_at: datetime
    delivery: str | None  # outgoing only: pending | sent | failed | blocked
    # The agent's name as the transcript shows it to people (their login when they have none).
    author_name: str | None = None


@dataclass(frozen=True)
class NewConversation:
    customer_id: int
    channel: str
    address: str
    queue: str
    priority: int
    reason: str
    skills: tuple[str, ...]
    agent_language: str | None
    created_at: datetime


@dataclass(frozen=True)
class NewMessage:
    conversation_id: int
    direction: str
    text: str
    created_at: datetime
    author_id: int | None = None
    photo: str | None = None
    external_id: str | None = None
    delivery: str | None = None


@dataclass(frozen=True)
class ChatAgent:
    user_id: int
    login: str
    max_chats: int
    open_chats: int


_Agent = aliased(User)


def _conversations() -> Select[InboxConversation, str, str, str]:
    return (
        select(InboxConversation, Customer.name, _Agent.login, _Agent.name)
        .join(Customer, Customer.id == InboxConversation.customer_id)
        .outerjoin(_Agent, _Agent.id == InboxConversation.agent_id)
    )


def _view(
    row: InboxConversation, customer_name: str, agent: str | None, agent_name: str | None
) -> ConversationView:
    return ConversationView(
        id=row.id,
        customer_id=row.customer_id,
        customer_name=customer_name,
        channel=row.channel,
        address=row.address,
        state=row.state,
        queue=row.queue,
        priority=row.priority,
        reason=row.reason,
        skills=tuple(row.skills or ()),
        agent_language=row.agent_language,
        agent_id=row.agent_id,
        agent=agent,
        agent_name=(agent_name or agent) if agent else None,
        created_at=row.created_at,
        assigned_at=row.assigned_at,
        first_reply_at=row.first_reply_at,
        closed_at=row.closed_at,
        disposition=row.disposition,
        survey_id=row.survey_id,
    )


async def get(session: AsyncSession, conversation_id: int, *, lock: bool = False) -> ConversationView | None:
    """One conversation; `lock` holds its row until the transaction ends (PostgreSQL)."""
    query = _conversations().where(InboxConversation.id == conversation_id)
    if lock:
        query = query.with_for_update(of=InboxConversation)
    row = (await session.execute(query)).first()
    return None if row is None else _view(*row)


async def live_for_customer(session: AsyncSession, customer_id: int) -> ConversationView | None:
    row = (
        await session.execute(
            _conversations().where(
                InboxConversation.customer_id == customer_id, InboxConversation.state.in_(LIVE_STATES)
            )
        )
    ).first()
    return None if row is None else _view(*row)


async def insert(session: AsyncSession, new: NewConversation) -> int | None:
    """A new waiting conversation's id, or None when the customer already has a live one (a
    concurrent request made it first: the unique partial index decides)."""
    values = {
        "customer_id": new.customer_id,
        "channel": new.channel,
        "address": new.address,
        "state": "waiting",
        "queue": new.queue,
        "priority": new.priority,
        "reason": new.reason,
        "skills": list(new.skills),
        "agent_language": new.agent_language,
        "created_at": new.created_at,
    }
    insert_ = dialect_insert(session)
    statement = insert_(InboxConversation).values(**values).on_conflict_do_nothing()
    found = await session.execute(statement.returning(InboxConversation.id))
    new_id = found.scalar_one_or_none()
    return None if new_id is None else int(new_id)


async def search(
    session: AsyncSession, *, states: Sequence[str], agent_id: int | None = None, limit: int = 100
) -> list[ConversationView]:
    """Conversations in `states`, the waiting line's order (priority, then age) first."""
    query = _conversations().where(InboxConversation.state.in_(states))
    if agent_id is not None:
        query = query.where(InboxConversation.agent_id == agent_id)
    query = query.order_by(
        InboxConversation.priority.desc(), InboxConversation.created_at, InboxConversation.id
    ).limit(limit)
    return [_view(*row) for row in (await session.execute(query)).all()]


async def of_customer(session: AsyncSession, customer_id: int, limit: int = 20) -> list[ConversationView]:
    query = (
        _conversations()
        .where(InboxConversation.customer_id == customer_id)
        .order_by(InboxConversation.created_at.desc(), InboxConversation.id.desc())
        .limit(limit)
    )
    return [_view(*row) for row in (await session.execute(query)).all()]


async def chat_agents(
    session: AsyncSession, skills: Sequence[str], language: str | None, limit: int = 20
) -> list[ChatAgent]:
    """Agents who may take a chat now: signed in and not wrapping up, with the skills (and
    language), holding fewer chats than their limit; fewest chats first, then longest idle.
    Skills and languages are checked in Python, as for calls (storage/routing/presence.py)."""
    open_chats = (
        select(func.count(InboxConversation.id))
        .where(InboxConversation.agent_id == User.id, InboxConversation.state == "open")
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            select(User.id, User.login, User.skills, User.languages, User.max_chats, open_chats.label("held"))
            .join(AgentState, AgentState.user_id == User.id)
            .where(User.active.is_(True), AgentState.state.in_(CHATTING_STATES), open_chats < User.max_chats)
            .order_by(open_chats, AgentState.since)
            .limit(limit * 5)
        )
    ).all()
    wanted = set(skills)
    found = [
        ChatAgent(r.id, r.login, r.max_chats, int(r.held))
        for r in rows
        if wanted <= set(r.skills or ()) and (language is None or language in (r.languages or ()))
    ]
    return found[:limit]


async def lock_agent(session: AsyncSession, user_id: int) -> None:
    """Serialise claims on one agent: two chats routed at once cannot both take their last
    free place (PostgreSQL; SQLite has one writer at a time anyway)."""
    await session.execute(select(User.id).where(User.id == user_id).with_for_update())


async def open_chats(session: AsyncSession, user_id: int) -> tuple[int, int]:
    """The agent's open chats and their limit."""
    held = (
        await session.execute(
            select(func.count(InboxConversation.id)).where(
                InboxConversation.agent_id == user_id, InboxConversation.state == "open"
            )
        )
    ).scalar_one()
    limit = (await session.execute(select(User.max_chats).where(User.id == user_id))).scalar_one()
    return int(held), int(limit)


async def assign(
    session: AsyncSession, conversation_id: int, agent_id: int, now: datetime, *, from_states: Sequence[str]
) -> bool:
    """Give the conversation to the agent if it is still in one of `from_states`."""
    result = await session.execute(
        update(InboxConversation)
        .where(InboxConversation.id == conversation_id, InboxConversation.state.in_(from_states))
        .values(state="open", agent_id=agent_id, assigned_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def requeue(session: AsyncSession, conversation_id: int, queue: str, skills: Sequence[str]) -> None:
    """Back to waiting, in `queue` (a transfer to a queue)."""
    await session.execute(
        update(InboxConversation)
        .where(InboxConversation.id == conversation_id)
        .values(state="waiting", agent_id=None, queue=queue, skills=list(skills), agent_language=None)
        .execution_options(synchronize_session=False)
    )


async def close(
    session: AsyncSession, conversation_id: int, now: datetime, disposition: str, survey_id: int | None
) -> bool:
    result = await session.execute(
        update(InboxConversation)
        .where(InboxConversation.id == conversation_id, InboxConversation.state.in_(LIVE_STATES))
        .values(state="resolved", closed_at=now, disposition=disposition, survey_id=survey_id)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def first_reply(session: AsyncSession, conversation_id: int, now: datetime) -> None:
    await session.execute(
        update(InboxConversation)
        .where(InboxConversation.id == conversation_id, InboxConversation.first_reply_at.is_(None))
        .values(first_reply_at=now)
        .execution_options(synchronize_session=False)
    )


_Author = aliased(User)


def _message(row: InboxMessage, author: str | None, author_name: str | None) -> MessageView:
    return MessageView(
        id=row.id,
        conversation_id=row.conversation_id,
        direction=row.direction,
        author=author,
        text=row.text,
        photo=row.photo,
        created_at=row.created_at,
        delivery=row.delivery,
        author_name=author_name or author,
    )


async def add_message(session: AsyncSession, new: NewMessage) -> int | None:
    """The new message's id, or None when this external id is already stored (a repeat)."""
    insert_ = dialect_insert(session)
    statement = (
        insert_(InboxMessage)
        .values(
            conversation_id=new.conversation_id,
            direction=new.direction,
            author_id=new.author_id,
            text=new.text,
            photo=new.photo,
            external_id=new.external_id,
            created_at=new.created_at,
            delivery=new.delivery,
        )
        .on_conflict_do_nothing()
        .returning(InboxMessage.id)
    )
    new_id = (await session.execute(statement)).scalar_one_or_none()
    return None if new_id is None else int(new_id)


async def get_message(session: AsyncSession, message_id: int) -> MessageView | None:
    row = (
        await session.execute(
            select(InboxMessage, _Author.login, _Author.name)
            .outerjoin(_Author, _Author.id == InboxMessage.author_id)
            .where(InboxMessage.id == message_id)
        )
    ).first()
    return None if row is None else _message(*row)


async def messages(session: AsyncSession, conversation_id: int, limit: int = 500) -> list[MessageView]:
    """The transcript, oldest first (the last `limit` messages)."""
    rows = (
        await session.execute(
            select(InboxMessage, _Author.login, _Author.name)
            .outerjoin(_Author, _Author.id == InboxMessage.author_id)
            .where(InboxMessage.conversation_id == conversation_id)
            .order_by(InboxMessage.id.desc())
            .limit(limit)
        )
    ).all()
    return [_message(*row) for row in reversed(rows)]


async def set_delivery(session: AsyncSession, message_id: int, delivery: str) -> None:
    await session.execute(
        update(InboxMessage)
        .where(InboxMessage.id == message_id)
        .values(delivery=delivery)
        .execution_options(synchronize_session=False)
    )


async def recent_wait_seconds(session: AsyncSession, queue: str, since: datetime) -> float | None:
    """The mean wait of conversations of `queue` an agent took since `since` (None: none did)."""
    rows = (
        await session.execute(
            select(InboxConversation.created_at, InboxConversation.assigned_at)
            .where(
                InboxConversation.queue == queue,
                InboxConversation.assigned_at.is_not(None),
                InboxConversation.assigned_at >= since,
            )
            .order_by(InboxConversation.assigned_at.desc())
            .limit(50)
        )
    ).all()
    waits = [
        (assigned - created).total_seconds()
        for created, assigned in ((aware(r[0]), aware(r[1])) for r in rows)
        if created is not None and assigned is not None
    ]
    return sum(waits) / len(waits) if waits else None


async def waiting_ahead(session: AsyncSession, conversation: ConversationView) -> int:
    """How many conversations of its queue are served before this one."""
    found = await session.execute(
        select(func.count(InboxConversation.id)).where(
            InboxConversation.state == "waiting",
            InboxConversation.queue == conversation.queue,
            InboxConversation.id != conversation.id,
            (InboxConversation.priority > conversation.priority)
            | (
                (InboxConversation.priority == conversation.priority)
                & (InboxConversation.created_at <= conversation.created_at)
            ),
        )
    )
    return int(found.scalar_one())
