"""Open complaints by age, split into those within their deadlines and the overdue (past a
deadline they still owe, the same rule the deadline alerts follow: storage.complaints.overdue)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.complaints import OPEN_STATES, overdue
from storage.models import Complaint

AGE_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("< 1 day", timedelta(days=1)),
    ("1–3 days", timedelta(days=3)),
    ("3–7 days", timedelta(days=7)),
    ("7–15 days", timedelta(days=15)),
    ("> 15 days", timedelta.max),
)


async def open_by_age(session: AsyncSession, now: datetime) -> dict[str, tuple[int, int]]:
    """Bucket label → (within deadline, overdue), counted by the database: there may be tens of
    thousands of open complaints, and the page needs ten numbers."""
    bucket = case(
        *((Complaint.created_at > now - limit, label) for label, limit in AGE_BUCKETS[:-1]),
        else_=AGE_BUCKETS[-1][0],
    ).label("bucket")
    late = case((overdue(now), 1), else_=0).label("overdue")
    rows = await session.execute(
        select(bucket, late, func.count()).where(Complaint.state.in_(OPEN_STATES)).group_by(bucket, late)
    )
    counts = {label: [0, 0] for label, _ in AGE_BUCKETS}
    for label, is_late, n in rows.all():
        counts[str(label)][int(is_late)] += int(n)
    return {label: (c[0], c[1]) for label, c in counts.items()}
