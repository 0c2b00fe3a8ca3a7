"""Queue a message to a customer on the channel that can reach them (the outbox)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Customer, CustomerIdentity, OutboxMessage
from storage.models.base import utcnow
from templates import language_of

log = logging.getLogger(__name__)


async def enqueue(
    session: AsyncSession,
    customer_id: int,
    *,
    kind: str,
    template: str,
    payload: dict[str, Any],
    dedupe_key: str | None = None,
) -> str:
    """Queue the message; returns its status: `pending`, `unreachable` (recorded, not sent:
    the customer has no channel we can write to) or `duplicate` (already queued)."""
    if dedupe_key is not None:
        existing = await session.execute(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
        )
        if existing.scalar_one_or_none() is not None:
            return "duplicate"
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
    status = "pending" if telegram else "unreachable"
    session.add(
        OutboxMessage(
            customer_id=customer_id,
            channel="telegram" if telegram else "none",
            address=telegram,
            kind=kind,
            template=template,
            language=language_of(language),
            payload=payload,
            status=status,
            dedupe_key=dedupe_key,
            next_attempt_at=utcnow(),
        )
    )
    await session.flush()
    if status == "unreachable":
        log.info("customer %s has no reachable channel; %s recorded as unreachable", customer_id, template)
    return status
