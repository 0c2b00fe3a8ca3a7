"""Lodging a complaint from any channel: the description checked, the deadlines set, the
timers started and the customer told."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Concatenate, ParamSpec

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.complaints.notifications import tell_customer
from handlers.complaints.policy import CHANNELS, SEVERITIES, ComplaintPolicy, department_for
from handlers.errors import InvalidInput, NotFound
from storage import complaints as repo
from storage import customers as customers_repo
from storage.complaints import ComplaintView, NewComplaint
from storage.models.base import utcnow
from storage.users import UserRecord

log = logging.getLogger(__name__)
P = ParamSpec("P")

# Control characters other than line breaks and tabs: PostgreSQL refuses NUL in text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def checked_description(
    policy: ComplaintPolicy, *, category: str, severity: str, channel: str, text: str
) -> str:
    """The description as stored, or InvalidInput naming what is wrong with the complaint."""
    if category not in policy.categories:
        raise InvalidInput("unknown complaint category", field="category", allowed=list(policy.categories))
    if severity not in SEVERITIES:
        raise InvalidInput("severity is standard or urgent", field="severity", allowed=list(SEVERITIES))
    if channel not in CHANNELS:
        raise InvalidInput("unknown channel", field="channel", allowed=list(CHANNELS))
    cleaned = _CONTROL.sub("", text or "").strip()
    if not cleaned:
        raise InvalidInput("describe the problem", field="description")
    if len(cleaned) > 4000:
        raise InvalidInput("the description is longer than 4000 characters", field="description")
    return cleaned


async def record(
    session: AsyncSession,
    *,
    customer_id: int,
    category: str,
    description: str,
    channel: str,
    severity: str = "standard",
    attachments: Sequence[str] = (),
    actor: UserRecord | None = None,
    now: datetime | None = None,
    policy: ComplaintPolicy,
    verified: bool = True,
    claimed_phone: str | None = None,
) -> ComplaintView:
    """A new complaint, its deadlines, timers and notifications, in the caller's transaction
    (`lodge` commits it; a flow that lodges as one step of a larger write commits it itself).
    `verified=False` for a sender no channel vouched for: stored with the number they
    claimed, marked for agents to verify, and the customer is told nothing.
    `policy` is the operator's configured rules (categories, calendar): every channel passes
    the one the composition root built, so deadlines agree whichever door a complaint came in."""
    now = now or utcnow()
    text = checked_description(
        policy, category=category, severity=severity, channel=channel, text=description
    )
    customer = await customers_repo.get(session, customer_id, details=False)
    if customer is None:
        raise NotFound("no such customer", customer_id=customer_id)
    if customer.merged_into_id is not None:
        customer_id = customer.merged_into_id
    acknowledge_due = policy.deadlines.acknowledge_by(policy.calendar, now)
    resolve_due = policy.deadlines.resolve_by(policy.calendar, now, severity)
    complaint = await repo.insert(
        session,
        NewComplaint(
            created_at=now,
            customer_id=customer_id,
            category=category,
            severity=severity,
            state="received",
            description=text,
            channel=channel,
            department=department_for(category),
            attachments=tuple(attachments),
            created_by_id=actor.id if actor else None,
            acknowledge_due_at=acknowledge_due,
            resolve_due_at=resolve_due,
            verified=verified,
            claimed_phone=claimed_phone,
        ),
    )
    await repo.add_event(
        session,
        complaint.id,
        at=now,
        kind="created",
        actor_kind="user" if actor else "customer",
        actor_id=actor.id if actor else None,
        to_state="received",
        note=f"lodged via {channel}" if verified else f"lodged via {channel}; sender not verified",
    )
    await repo.add_timer(session, complaint.id, "acknowledge", acknowledge_due)
    await repo.add_timer(session, complaint.id, "resolve", resolve_due)
    await tell_customer(session, complaint, now)
    return complaint


def _committed(
    write: Callable[Concatenate[AsyncSession, P], Awaitable[ComplaintView]],
) -> Callable[Concatenate[AsyncSession, P], Awaitable[ComplaintView]]:
    async def committed(session: AsyncSession, /, *args: P.args, **kwargs: P.kwargs) -> ComplaintView:
        complaint = await write(session, *args, **kwargs)
        await session.commit()
        log.info(
            "complaint %s lodged via %s for customer %s",
            complaint.ticket,
            complaint.channel,
            complaint.customer_id,
        )
        return complaint

    committed.__doc__ = "`record`, committed: a complaint lodged on its own."
    return committed


# Every channel lodges through this; `record` is for a flow whose last step it is.
lodge = _committed(record)
