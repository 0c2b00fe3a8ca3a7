"""Outbox repository: use cases queue messages, senders claim the due ones and record what
happened to each. Nothing here commits: the use case that calls it owns the transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Customer, CustomerIdentity, OutboxMessage

# How long a sender may hold a claimed message before it is presumed dead.
LEASE = timedelta(minutes=5)


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
    attempts: int  # sends before this claim


@dataclass(frozen=True)
class Recipient:
    """How a customer can be written to: their language and their newest Telegram chat."""

    language: str | None
    telegram: str | None


async def is_queued(session: AsyncSession, dedupe_key: str) -> bool:
    found = await session.execute(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key))
    return found.scalar_one_or_none() is not None


async def recipient(session: AsyncSession, customer_id: int) -> Recipient:
    language = (
        await session.execute(select(Customer.language).where(Customer.id == customer_id))
    ).scalar_one()
    telegram = (
        await session.execute(
            select(CustomerIdentity.value)
            .where(CustomerIdentity.customer_id == customer_id, CustomerIdentity.kind == "telegram")
            .order_by(CustomerIdentity.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return Recipient(language, telegram)


async def add(
    session: AsyncSession,
    *,
    customer_id: int,
    channel: str,
    address: str | None,
    kind: str,
    template: str,
    language: str,
    payload: dict[str, Any],
    status: str,  # pending | unreachable
    dedupe_key: str | None,
    next_attempt_at: datetime,
) -> None:
    session.add(
        OutboxMessage(
            customer_id=customer_id,
            channel=channel,
            address=address,
            kind=kind,
            template=template,
            language=language,
            payload=payload,
            status=status,
            dedupe_key=dedupe_key,
            next_attempt_at=next_attempt_at,
        )
    )
    await session.flush()


async def claim_due(
    session: AsyncSession,
    channel: str,
    now: datetime,
    *,
    once_only: Collection[str],
    limit: int = 50,
    lease: timedelta = LEASE,
) -> list[OutgoingMessage]:
    """Take due messages for this channel (`sending`). Once the caller commits the claim,
    other senders skip them (SKIP LOCKED), and a sender that dies leaves them to be retried
    after the lease, except the kinds sent at most once (`once_only`: see `give_up_unsure`)."""
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            or_(
                (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.status == "sending")
                & (OutboxMessage.claimed_at < now - lease)
                & OutboxMessage.kind.not_in(once_only),
            ),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = (await session.execute(query)).scalars().all()
    claimed = _outgoing(rows)
    for row in rows:
        row.status, row.claimed_at, row.attempts = "sending", now, row.attempts + 1
    await session.flush()
    return claimed


def _outgoing(rows: Sequence[OutboxMessage]) -> list[OutgoingMessage]:
    return [
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


async def give_up_unsure(
    session: AsyncSession, channel: str, now: datetime, *, kinds: Collection[str], lease: timedelta = LEASE
) -> list[OutgoingMessage]:
    """Messages of `kinds` a sender took and never reported on (it died): Telegram may have
    them or not, and has no idempotency key, so they are marked `uncertain`, never sent again."""
    rows = (
        (
            await session.execute(
                select(OutboxMessage)
                .where(
                    OutboxMessage.channel == channel,
                    OutboxMessage.status == "sending",
                    OutboxMessage.claimed_at < now - lease,
                    OutboxMessage.kind.in_(kinds),
                )
                .with_for_update(skip_locked=True)
            )
        )
        .scalars()
        .all()
    )
    for row in rows:
        row.status = "uncertain"
    await session.flush()
    return _outgoing(rows)


async def finish(
    session: AsyncSession, message_id: int, status: str, at: datetime, error: str | None = None
) -> None:
    statement = (
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(status=status, last_error=error)
    )
    if status == "sent":
        statement = statement.values(sent_at=at)
    await session.execute(statement)


async def retry_later(session: AsyncSession, message_id: int, when: datetime, error: str | None) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status="pending", next_attempt_at=when, last_error=(error or "")[:500])
    )
