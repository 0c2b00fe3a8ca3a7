"""Customer repository: reads and writes customers, returns plain dataclasses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import PrimaryKeyConstraint, Table, UniqueConstraint, and_, exists, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.keep import KEEP, Keep, given
from storage.models import Customer, CustomerIdentity, Holding, Product
from storage.models.base import Base


@dataclass(frozen=True)
class Identity:
    kind: str
    value: str


@dataclass(frozen=True)
class NewCustomerRow:
    """The columns of a new customer; the others take their defaults."""

    name: str
    tier: str
    language: str | None = None
    region: str | None = None
    timezone: str | None = None
    blacklisted: bool = False
    blacklist_reason: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HoldingView:
    product_code: str
    product_name: str
    since: date
    monthly_spend: Decimal


@dataclass(frozen=True)
class CustomerRecord:
    id: int
    name: str
    tier: str
    blacklisted: bool
    blacklist_reason: str | None
    language: str | None
    region: str | None
    timezone: str | None
    marketing_opt_out: bool
    merged_into_id: int | None
    created_at: datetime
    updated_at: datetime
    attributes: Mapping[str, Any] = field(default_factory=dict)
    identities: tuple[Identity, ...] = ()
    holdings: tuple[HoldingView, ...] = ()


def _to_record(row: Customer, *, details: bool) -> CustomerRecord:
    identities: tuple[Identity, ...] = ()
    holdings: tuple[HoldingView, ...] = ()
    if details:
        identities = tuple(
            Identity(i.kind, i.value) for i in sorted(row.identities, key=lambda i: (i.kind, i.id))
        )
        holdings = tuple(
            HoldingView(h.product.code, h.product.name, h.since, h.monthly_spend)
            for h in sorted(row.holdings, key=lambda h: (h.since, h.id))
        )
    return CustomerRecord(
        id=row.id,
        name=row.name,
        tier=row.tier,
        blacklisted=row.blacklisted,
        blacklist_reason=row.blacklist_reason,
        language=row.language,
        region=row.region,
        timezone=row.timezone,
        marketing_opt_out=row.marketing_opt_out,
        merged_into_id=row.merged_into_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        attributes=dict(row.attributes or {}),
        identities=identities,
        holdings=holdings,
    )


async def get(session: AsyncSession, customer_id: int, *, details: bool = True) -> CustomerRecord | None:
    query = select(Customer).where(Customer.id == customer_id)
    if details:
        query = query.options(
            selectinload(Customer.identities),
            selectinload(Customer.holdings).selectinload(Holding.product),
        )
    row = (await session.execute(query)).scalar_one_or_none()
    return None if row is None else _to_record(row, details=details)


async def find_id_by_identity(session: AsyncSession, kind: str, value: str) -> int | None:
    result = await session.execute(
        select(CustomerIdentity.customer_id).where(
            CustomerIdentity.kind == kind, CustomerIdentity.value == value
        )
    )
    return result.scalar_one_or_none()


async def create(session: AsyncSession, new: NewCustomerRow, identities: Iterable[Identity] = ()) -> int:
    customer = Customer(
        name=new.name,
        tier=new.tier,
        language=new.language,
        region=new.region,
        timezone=new.timezone,
        blacklisted=new.blacklisted,
        blacklist_reason=new.blacklist_reason,
        attributes=dict(new.attributes),
    )
    session.add(customer)
    await session.flush()
    for identity in identities:
        session.add(CustomerIdentity(customer_id=customer.id, kind=identity.kind, value=identity.value))
    await session.flush()
    return customer.id


async def add_identity(session: AsyncSession, customer_id: int, identity: Identity) -> None:
    session.add(CustomerIdentity(customer_id=customer_id, kind=identity.kind, value=identity.value))
    await session.flush()


async def update_fields(
    session: AsyncSession,
    customer_id: int,
    *,
    name: str | Keep = KEEP,
    tier: str | Keep = KEEP,
    language: str | Keep | None = KEEP,
    region: str | Keep | None = KEEP,
    timezone: str | Keep | None = KEEP,
    blacklisted: bool | Keep = KEEP,
    blacklist_reason: str | Keep | None = KEEP,
    marketing_opt_out: bool | Keep = KEEP,
    attributes: Mapping[str, Any] | Keep = KEEP,
) -> None:
    """Set the columns given; those left at KEEP stay as stored."""
    row = await session.get(Customer, customer_id)
    if row is None:
        raise LookupError(customer_id)
    changes = given(
        name=name,
        tier=tier,
        language=language,
        region=region,
        timezone=timezone,
        blacklisted=blacklisted,
        blacklist_reason=blacklist_reason,
        marketing_opt_out=marketing_opt_out,
        attributes=attributes if isinstance(attributes, Keep) else dict(attributes),
    )
    for column, value in changes.items():
        setattr(row, column, value)
    await session.flush()


async def count_by_tier(session: AsyncSession) -> dict[str, int]:
    result = await session.execute(
        select(Customer.tier, func.count()).where(Customer.merged_into_id.is_(None)).group_by(Customer.tier)
    )
    return {row[0]: row[1] for row in result.all()}


async def get_or_create_product(
    session: AsyncSession,
    code: str,
    name: str,
    category: str = "",
    monthly_price: Decimal = Decimal(0),
) -> int:
    product_id = (await session.execute(select(Product.id).where(Product.code == code))).scalar_one_or_none()
    if product_id is not None:
        return product_id
    product = Product(code=code, name=name, category=category, monthly_price=monthly_price)
    session.add(product)
    await session.flush()
    return product.id


async def set_holding(
    session: AsyncSession, customer_id: int, product_id: int, since: date, monthly_spend: Decimal
) -> None:
    row = (
        await session.execute(
            select(Holding).where(Holding.customer_id == customer_id, Holding.product_id == product_id)
        )
    ).scalar_one_or_none()
    if row is None:
        session.add(
            Holding(
                customer_id=customer_id,
                product_id=product_id,
                since=since,
                monthly_spend=monthly_spend,
            )
        )
    else:
        row.since, row.monthly_spend = since, monthly_spend
    await session.flush()


def _clashes(table: Table, target_id: int, dialect: str) -> list[Any]:
    """For each unique key of `table` that holds `customer_id` (a unique constraint, the
    primary key, a unique index, partial ones within their condition): "the target already
    has a row with this row's other values" (both customers in one campaign's targets, a bill
    for the same month, a live chat each, say). Such rows stay with the source, which is
    kept, marked merged, so nothing is lost."""
    keys: list[tuple[list[str], Any]] = [
        ([c.name for c in constraint.columns], None)
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint)
    ]
    keys += [
        ([c.name for c in index.columns], index.dialect_options[dialect].get("where"))
        for index in table.indexes
        if index.unique
    ]
    found: list[Any] = []
    for columns, where in keys:
        if "customer_id" not in columns:
            continue
        other = table.alias()
        same = [other.c[name] == table.c[name] for name in columns if name != "customer_id"]
        if where is None:
            found.append(exists().where(other.c.customer_id == target_id, *same))
        else:
            # The condition names bare columns: inside the subquery they are the target's row,
            # outside it the row being moved.
            condition = text(str(where))
            found.append(and_(condition, exists().where(other.c.customer_id == target_id, condition, *same)))
    return found


async def merge(session: AsyncSession, source_id: int, target_id: int) -> None:
    """Move everything the source customer owns to the target; the source row remains, marked.

    Every table with a `customer_id` column that references customers is re-pointed, so
    history added by later features (complaints, contacts, surveys) moves too.
    """
    source_holdings = (
        (await session.execute(select(Holding).where(Holding.customer_id == source_id))).scalars().all()
    )
    target_products = set(
        (await session.execute(select(Holding.product_id).where(Holding.customer_id == target_id))).scalars()
    )
    for holding in source_holdings:
        if holding.product_id in target_products:
            # Same product held twice: keep the target's row, with the earlier start.
            target_row = (
                await session.execute(
                    select(Holding).where(
                        Holding.customer_id == target_id, Holding.product_id == holding.product_id
                    )
                )
            ).scalar_one()
            target_row.since = min(target_row.since, holding.since)
            await session.delete(holding)
    await session.flush()

    for table in Base.metadata.sorted_tables:
        column = table.columns.get("customer_id")
        if column is None or not any(fk.column.table.name == "customers" for fk in column.foreign_keys):
            continue
        moved = update(table).where(column == source_id)
        for clash in _clashes(table, target_id, session.get_bind().dialect.name):
            moved = moved.where(~clash)
        await session.execute(moved.values(customer_id=target_id))
    await session.execute(
        update(Customer).where(Customer.merged_into_id == source_id).values(merged_into_id=target_id)
    )
    await session.execute(update(Customer).where(Customer.id == source_id).values(merged_into_id=target_id))
