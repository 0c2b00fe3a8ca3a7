"""Queues: their business hours and overflow, and who is waiting in each right now."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.keep import KEEP, Keep, given
from storage.models import Contact, Queue
from storage.routing.contact_log import aware


@dataclass(frozen=True)
class QueueView:
    name: str
    opens: str | None
    closes: str | None
    days: tuple[int, ...]
    timezone: str
    overflow: str | None


async def queues(session: AsyncSession) -> dict[str, QueueView]:
    rows = (await session.execute(select(Queue))).scalars()
    return {
        q.name: QueueView(q.name, q.opens, q.closes, tuple(q.days or ()), q.timezone, q.overflow)
        for q in rows
    }


async def upsert_queue(
    session: AsyncSession,
    name: str,
    *,
    description: str | Keep = KEEP,
    opens: str | Keep | None = KEEP,
    closes: str | Keep | None = KEEP,
    days: Sequence[int] | Keep = KEEP,
    timezone: str | Keep = KEEP,
    overflow: str | Keep | None = KEEP,
) -> None:
    """Create or change the queue; a setting left at KEEP stays as stored (a new queue
    takes the column's default)."""
    row = (await session.execute(select(Queue).where(Queue.name == name))).scalar_one_or_none()
    if row is None:
        row = Queue(name=name)
        session.add(row)
    settings = given(
        description=description,
        opens=opens,
        closes=closes,
        days=days if isinstance(days, Keep) else list(days),
        timezone=timezone,
        overflow=overflow,
    )
    for key, value in settings.items():
        setattr(row, key, value)
    await session.flush()


async def queue_stats(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
    """Per queue: contacts waiting (routed, not answered, not ended), since when the longest
    has waited (`oldest_at`) and for how long."""
    waiting = and_(Contact.action == "route", Contact.answered_at.is_(None), Contact.ended_at.is_(None))
    rows = (
        await session.execute(
            select(Contact.queue, func.count(), func.min(Contact.created_at))
            .where(waiting)
            .group_by(Contact.queue)
        )
    ).all()
    stats = []
    for queue, count, oldest_raw in rows:
        oldest = aware(oldest_raw)
        stats.append(
            {
                "queue": queue,
                "waiting": int(count),
                "oldest_at": oldest,
                "longest_wait_seconds": int((now - oldest).total_seconds()) if oldest else 0,
            }
        )
    return stats
