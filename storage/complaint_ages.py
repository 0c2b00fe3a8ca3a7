"""Open complaints by age, split into those still within their deadline and those past it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.complaints import OPEN_STATES
from storage.models import Complaint

AGE_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("< 1 day", timedelta(days=1)),
    ("1–3 days", timedelta(days=3)),
    ("3–7 days", timedelta(days=7)),
    ("7–15 days", timedelta(days=15)),
    ("> 15 days", timedelta.max),
)


async def open_by_age(session: AsyncSession, now: datetime) -> dict[str, tuple[int, int]]:
    """Bucket label → (within deadline, overdue)."""
    counts = {label: [0, 0] for label, _ in AGE_BUCKETS}
    rows = await session.stream(
        select(Complaint.created_at, Complaint.resolve_due_at).where(Complaint.state.in_(OPEN_STATES))
    )
    async for created_at, due in rows:
        age = now - created_at
        label = next(label for label, limit in AGE_BUCKETS if age < limit)
        counts[label][1 if due is not None and due < now else 0] += 1
    return {label: (c[0], c[1]) for label, c in counts.items()}
