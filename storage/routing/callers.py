"""Caller facts: what routing knows about a caller from their number, read per call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.complaints import OPEN_STATES
from storage.models import Complaint, Contact, Customer, CustomerIdentity
from storage.routing.contact_log import aware


@dataclass(frozen=True)
class CallerFacts:
    customer_id: int
    name: str
    tier: str
    blacklisted: bool
    language: str | None
    region: str | None
    open_complaint: bool
    last_contact_at: datetime | None


async def caller_facts(session: AsyncSession, kind: str, value: str) -> CallerFacts | None:
    """Everything routing needs about a caller in one round trip: this runs for every call,
    so the open-complaint and last-contact lookups are subqueries of the identity lookup."""
    open_complaint = exists().where(Complaint.customer_id == Customer.id, Complaint.state.in_(OPEN_STATES))
    last_contact = (
        select(func.max(Contact.created_at)).where(Contact.customer_id == Customer.id).scalar_subquery()
    )
    query = (
        select(
            Customer.id,
            Customer.name,
            Customer.tier,
            Customer.blacklisted,
            Customer.language,
            Customer.region,
            open_complaint.label("open_complaint"),
            last_contact.label("last_contact"),
        )
        .select_from(CustomerIdentity)
        .join(Customer, Customer.id == CustomerIdentity.customer_id)
        .where(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
    )
    row = (await session.execute(query)).first()
    if row is None:
        return None
    last = aware(row.last_contact)
    return CallerFacts(
        row.id,
        row.name,
        row.tier,
        bool(row.blacklisted),
        row.language,
        row.region,
        bool(row.open_complaint),
        last,
    )
