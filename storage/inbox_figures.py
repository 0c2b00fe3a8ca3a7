"""The chat inbox's live figures for supervisors: per queue, the conversations waiting (and
since when the longest has) and those open with an agent; per agent, the chats they hold.
One round trip each, over the live conversations only (the state index)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.inbox import LIVE_STATES
from storage.models import InboxConversation, User
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
