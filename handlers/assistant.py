"""Use cases behind a conversational assistant (Rasa): who is really talking, and what a
sender nobody vouched for may still do.

A customer's record opens only to a sender a channel vouches for: a Telegram user id
that Telegram itself delivered and that is linked to the customer, or a caller number
that a trusted voice gateway passed along. Anything typed into the conversation (a
phone number, a customer id) is a claim, never an identity: it may lodge a complaint for
agents to verify, and reveals nothing."""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import complaints, customers
from handlers.complaints import ComplaintPolicy
from handlers.customers import NewCustomer
from handlers.errors import InvalidInput
from handlers.identities import mask, normalise_phone
from storage import users as audit_repo
from storage.complaints import ComplaintView
from storage.customers import CustomerRecord
from storage.users import Actor

log = logging.getLogger(__name__)


async def verified_customer(
    session: AsyncSession,
    *,
    channel: str,
    sender_id: str,
    caller: str | None,
    trusted_channels: Collection[str],
    region: str,
) -> CustomerRecord | None:
    """The customer the channel vouches for, or None when nobody vouches for the sender."""
    if channel == "telegram" and sender_id.isascii() and sender_id.isdigit():
        return await customers.identify(session, "telegram", sender_id, region=region)
    if channel in trusted_channels and caller:
        try:
            return await customers.identify(session, "phone", caller, region=region)
        except InvalidInput:
            log.info("trusted channel %s passed a caller that is not a phone number", channel)
    return None


async def record_access(
    session: AsyncSession,
    actor: Actor,
    *,
    action: str,
    customer_id: int,
    details: dict[str, Any] | None = None,
) -> None:
    """One audit entry for a read of (or an act on) the customer's record by a channel."""
    await audit_repo.audit(
        session,
        actor=actor,
        action=action,
        customer_id=customer_id,
        subject_type="customer",
        subject_id=customer_id,
        details=details,
    )
    await session.commit()


async def lodge_for_number(
    session: AsyncSession,
    actor: Actor,
    *,
    phone: str,
    verified: bool,
    category: str,
    description: str,
    channel: str,
    policy: ComplaintPolicy,
    region: str,
) -> ComplaintView:
    """A complaint about the customer who owns `phone`, or a new prospect for an unknown
    number (as a chat does for a number it does not know). Unless a channel vouched for
    the number, it is stored unverified: agents see it marked, the customer hears nothing.
    The caller gets back only the complaint, never the record it landed on."""
    number = normalise_phone(phone, region)
    # Checked before a prospect is created, so a bad complaint leaves no stray customer.
    complaints.checked_description(
        policy, category=category, severity="standard", channel=channel, text=description
    )
    owner = await customers.identify(session, "phone", number, region=region)
    if owner is None:
        owner = await customers.create_customer(
            session, None, NewCustomer(phones=(number,), attributes={"prospect": True}), region=region
        )
    complaint = await complaints.lodge(
        session,
        customer_id=owner.id,
        category=category,
        description=description,
        channel=channel,
        policy=policy,
        verified=verified,
        claimed_phone=None if verified else number,
    )
    await record_access(
        session,
        actor,
        action="complaint.lodge",
        customer_id=complaint.customer_id,
        details={"ticket": complaint.ticket, "verified": verified, "phone": mask(number)},
    )
    return complaint
