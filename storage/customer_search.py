"""What the console's customer search reads: names by prefix, a ticket's customer, and one
dense row per customer found (tier, region, a phone, open complaints)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.complaints import OPEN_STATES
from storage.models import Complaint, Customer, CustomerIdentity


@dataclass(frozen=True)
class CustomerRow:
    id: int
    name: str
    tier: str
    blacklisted: bool
    region: str | None
    phone: str | None  # the first linked phone, E.164
    open_complaints: int


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def name_key(dialect: str) -> ColumnElement[str]:
    # On PostgreSQL the very expression of ix_customers_name_search (migration 0011): in
    # byte order a prefix LIKE is an index range and the results come in index order.
    key = func.lower(Customer.name)
    return key.collate("C") if dialect == "postgresql" else key


def name_starts_with(prefix: str, dialect: str) -> ColumnElement[bool]:
    """A customer's name begins with `prefix`, any case (the index's condition)."""
    return name_key(dialect).like(_like_prefix(prefix.lower()), escape="\\")


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name  # type: ignore[union-attr]


async def ids_by_name(session: AsyncSession, prefix: str, *, offset: int, limit: int) -> list[int]:
    """Customers (not merged away) whose name starts with `prefix`, any case, by name."""
    query = (
        select(Customer.id)
        .where(name_starts_with(prefix, _dialect(session)), Customer.merged_into_id.is_(None))
        .order_by(name_key(_dialect(session)), Customer.id)
        .offset(offset)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def customer_of_ticket(session: AsyncSession, ticket: str) -> int | None:
    query = select(Complaint.customer_id).where(Complaint.ticket == ticket)
    return (await session.execute(query)).scalar_one_or_none()


async def rows(session: AsyncSession, ids: Sequence[int]) -> list[CustomerRow]:
    """One row per id, in the order given; three statements whatever the number of ids."""
    if not ids:
        return []
    customers = {
        c.id: c
        for c in (
            await session.execute(
                select(
                    Customer.id, Customer.name, Customer.tier, Customer.blacklisted, Customer.region
                ).where(Customer.id.in_(ids))
            )
        ).all()
    }
    phones: dict[int, str] = {}
    for customer_id, value in (
        await session.execute(
            select(CustomerIdentity.customer_id, CustomerIdentity.value)
            .where(CustomerIdentity.customer_id.in_(ids), CustomerIdentity.kind == "phone")
            .order_by(CustomerIdentity.id)
        )
    ).all():
        phones.setdefault(customer_id, value)
    counted = await session.execute(
        select(Complaint.customer_id, func.count())
        .where(Complaint.customer_id.in_(ids), Complaint.state.in_(OPEN_STATES))
        .group_by(Complaint.customer_id)
    )
    open_counts = {customer_id: int(count) for customer_id, count in counted.all()}
    return [
        CustomerRow(
            id=c.id,
            name=c.name,
            tier=c.tier,
            blacklisted=c.blacklisted,
            region=c.region,
            phone=phones.get(c.id),
            open_complaints=open_counts.get(c.id, 0),
        )
        for c in (customers[i] for i in ids if i in customers)
    ]
