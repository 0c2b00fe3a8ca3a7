"""Telling the customer what became of their complaint, through the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import notify
from storage import complaints as repo
from storage.complaints import ComplaintView


async def tell_customer(session: AsyncSession, complaint: ComplaintView, now: datetime) -> None:
    """Queue the message for the complaint's new state, in the caller's transaction."""
    if not complaint.verified:
        # Whoever lodged it may not be the customer: news of it would go to someone who
        # never complained, and would confirm to a stranger that the number is ours.
        return
    kind = "satisfaction_question" if complaint.state == "resolved" else "complaint_update"
    status = await notify.enqueue(
        session,
        complaint.customer_id,
        kind=kind,
        template=f"complaint_{complaint.state}",
        payload={
            "complaint_id": complaint.id,
            "ticket": complaint.ticket,
            "state": complaint.state,
            "resolution": complaint.resolution or "",
            # The "resolved" message states the compensation (the text and what it is worth).
            "compensation": complaint.compensation or "",
            "compensation_amount": str(complaint.compensation_amount or ""),
            "resolve_due": complaint.resolve_due_at.date().isoformat() if complaint.resolve_due_at else "",
        },
        dedupe_key=f"complaint:{complaint.id}:{complaint.state}:{complaint.reopen_count}",
    )
    if status == "unreachable":
        await repo.add_event(
            session,
            complaint.id,
            at=now,
            kind="notification",
            actor_kind="system",
            note="customer has no reachable channel; message recorded, not sent",
        )
