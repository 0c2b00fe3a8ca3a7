"""Chat updates that could not be read: kept with the error for someone to inspect, so that
the platform can be told "received" and stop sending them again."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.inputs import make_storable
from storage import telegram as repo
from storage.models.base import utcnow

# Telegram's updates are a few KiB; a larger body is not one, and the start of it says enough.
MAX_RAW_CHARS = 16_384
MAX_ERROR_CHARS = 2_000


async def keep_rejected_update(
    session: AsyncSession, raw: bytes, error: str, update_id: int | None = None
) -> bool:
    """Keep it; False when `update_id` was already received (a repeat delivery: kept once)."""
    if update_id is not None and not await repo.claim_update(session, update_id):
        return False
    text = raw[: MAX_RAW_CHARS * 4].decode("utf-8", "backslashreplace")
    await repo.add_rejected_update(
        session,
        raw=make_storable(text)[:MAX_RAW_CHARS],
        error=make_storable(error)[:MAX_ERROR_CHARS],
        at=utcnow(),
    )
    await session.commit()
    return True
