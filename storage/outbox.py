"""Outbox repository: senders claim due messages, then record what happened to each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage


@dataclass(frozen=True)
class OutgoingMessage:
    id: int
    customer_id: int
    channel: str
    address: str | None
    kind: str
    template: str
    language: str
    payload: dict[str, Any]
    attempts: int


async def claim_due(
    session: AsyncSession,
    channel: str,
    now: datetime,
    *,
    limit: int = 50,
    lease: timedelta = timedelta(minutes=5),
) -> list[OutgoingMessage]:
    """Take due messages for this channel and commit the claim (`sending`), so that other
    senders skip them (SKIP LOCKED) and a sender that dies leaves them to be retried after
    the lease."""
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            or_(
                (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - lease),
            ),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = (await session.execute(query)).scalars().all()
    claimed = [
        OutgoingMessage(
            r.id,
            r.customer_id,
            r.channel,
            r.address,
            r.kind,
            r.template,
            r.language,
            dict(r.payload or {}),
            r.attempts,
        )
        for r in rows
    ]
    for row in rows:
        row.status, row.claimed_at, row.attempts = "sending", now, row.attempts + 1
    await session.commit()
    return claimed


async def finish(
    session: AsyncSession, message_id: int, status: str, at: datetime, error: str | None = None
) -> None:
    values: dict[str, Any] = {"status": status, "last_error": error}
    if status == "sent":
        values["sent_at"] = at
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))
    await session.commit()


async def retry_later(session: AsyncSession, message_id: int, when: datetime, error: str) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status="pending", next_attempt_at=when, last_error=error[:500])
    )
    await session.commit()
