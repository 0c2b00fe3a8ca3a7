"""The chat inbox's live figures for supervisors: per queue, the conversations waiting (and
since when the longest has) and those open with an agent; per agent, the chats they hold.
One round trip each, over the live conversations only (the state index). And the report of
conversations over a period, by agent or queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.elapsed import seconds_between
from storage.inbox import LIVE_STATES
from storage.models import InboxConversation, Survey, User
from storage.routing.contact_log import aware


@dataclass(frozen=True)
class ChatQueue:
    queue: str
    waiting: int
    oldest_at: datetime | None  # when the longest-waiting conversation was opened
    open: int


async def chat_queues(session: AsyncSession) -> dict[str, ChatQueue]:
    waiting = InboxConversation.state == "waiting"
    rows: Any = await session.execute(
        select(
            InboxConversation.queue,
            func.count(case((waiting, 1))).label("waiting"),
            func.min(case((waiting, InboxConversation.created_at))).label("oldest_at"),
            func.count(case((InboxConversation.state == "open", 1))).label("open"),
        )
        .where(InboxConversation.state.in_(LIVE_STATES))
        .group_by(InboxConversation.queue)
    )
    return {
        str(r.queue): ChatQueue(str(r.queue), int(r.waiting), aware(r.oldest_at), int(r.open)) for r in rows
    }


async def chats_by_agent(session: AsyncSession) -> dict[str, int]:
    """Open chats per agent login (agents holding none are absent)."""
    rows: Any = await session.execute(
        select(User.login, func.count())
        .join(InboxConversation, InboxConversation.agent_id == User.id)
        .where(InboxConversation.state == "open")
        .group_by(User.login)
    )
    return {str(login): int(count) for login, count in rows}


@dataclass(frozen=True)
class ConversationRow:
    """Conversations opened in a period, for one agent or queue (`group`)."""

    group: str
    conversations: int
    answered: int  # an agent replied at least once
    resolved: int
    avg_first_response_s: float | None  # opening to the first reply, over those answered
    avg_handle_s: float | None  # taken to closed, over those an agent took and closed
    csat_answers: int
    csat_average: float | None


async def conversation_report(
    session: AsyncSession, start: datetime, end: datetime, group_by: str
) -> list[ConversationRow]:
    """One round trip: the conversations opened in [start, end) grouped by their (last)
    agent's login or their queue, with the CSAT answer each one's close asked for."""
    conversation = InboxConversation
    group = func.coalesce(User.login, "") if group_by == "agent" else conversation.queue
    first_response = seconds_between(conversation.first_reply_at, conversation.created_at)
    handle = case(
        (conversation.state == "resolved", seconds_between(conversation.closed_at, conversation.assigned_at))
    )
    csat = case((Survey.kind == "csat", Survey.score))
    rows: Any = await session.execute(
        select(
            group.label("grp"),
            func.count().label("conversations"),
            func.count(conversation.first_reply_at).label("answered"),
            func.count(case((conversation.state == "resolved", 1))).label("resolved"),
            func.avg(first_response).label("first_response"),
            func.avg(handle).label("handle"),
            func.count(csat).label("csat_answers"),
            func.avg(csat).label("csat_average"),
        )
        .select_from(conversation)
        .outerjoin(User, User.id == conversation.agent_id)
        .outerjoin(Survey, Survey.id == conversation.survey_id)
        .where(conversation.created_at >= start, conversation.created_at < end)
        .group_by(group)
        .order_by(group)
    )
    return [
        ConversationRow(
            group=str(r.grp),
            conversations=int(r.conversations),
            answered=int(r.answered),
            resolved=int(r.resolved),
            avg_first_response_s=_rounded(r.first_response, 1),
            avg_handle_s=_rounded(r.handle, 1),
            csat_answers=int(r.csat_answers),
            csat_average=_rounded(r.csat_average, 2),
        )
        for r in rows
    ]


def _rounded(value: Any, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)
