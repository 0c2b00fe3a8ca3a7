"""Queue a message to a customer on the channel that can reach them (the outbox)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox as repo
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
    at: datetime | None = None,
) -> str:
    """Queue the message in the caller's transaction, to go out now or `at` a later
    moment (the sender leaves it until then); returns its status: `pending`,
    `unreachable` (recorded, not sent: the customer has no channel we can write to) or
    `duplicate` (already queued)."""
    if dedupe_key is not None and await repo.is_queued(session, dedupe_key):
        return "duplicate"
    recipient = await repo.recipient(session, customer_id)
    status = "pending" if recipient.telegram else "unreachable"
    await repo.add(
        session,
        customer_id=customer_id,
        channel="telegram" if recipient.telegram else "none",
        address=recipient.telegram,
        kind=kind,
        template=template,
        language=language_of(recipient.language),
        payload=payload,
        status=status,
        dedupe_key=dedupe_key,
        next_attempt_at=at or utcnow(),
    )
    if status == "unreachable":
        log.info("customer %s has no reachable channel; %s recorded as unreachable", customer_id, template)
    return status
