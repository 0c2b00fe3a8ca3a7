"""What the cross-sell ranking reads: a customer's holdings and what their peers hold."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Product

# For every product the customer lacks: how many customers who share at least one product
# with this customer also hold it. One statement over the whole base; the self-join is on
# (customer_id, product_id), both indexed.
_PEERS = text(
    """
    SELECT p.code, count(DISTINCT other.customer_id) AS peers
    FROM holdings mine
    JOIN holdings shared ON shared.product_id = mine.product_id AND shared.customer_id <> mine.customer_id
    JOIN holdings other ON other.customer_id = shared.customer_id
    JOIN products p ON p.id = other.product_id
    WHERE mine.customer_id = :customer_id
      AND other.product_id NOT IN (SELECT product_id FROM holdings WHERE customer_id = :customer_id)
    GROUP BY p.code
    """
)


@dataclass(frozen=True)
class OfferFacts:
    tier: str
    blacklisted: bool
    open_complaints: int
    customer_since: date
    held: frozenset[str]
    names: dict[str, str]


async def peer_counts(session: AsyncSession, customer_id: int) -> dict[str, int]:
    rows = await session.execute(_PEERS, {"customer_id": customer_id})
    return {str(code): int(peers) for code, peers in rows.all()}


async def facts(session: AsyncSession, customer_id: int) -> OfferFacts | None:
    row = (
        await session.execute(
            text(
                "SELECT c.tier, c.blacklisted, c.created_at, "
                "(SELECT count(*) FROM complaints k WHERE k.customer_id = c.id "
                " AND k.state NOT IN ('resolved', 'closed')) AS open_complaints, "
                "(SELECT min(h.since) FROM holdings h WHERE h.customer_id = c.id) AS first_since "
                "FROM customers c WHERE c.id = :id"
            ),
            {"id": customer_id},
        )
    ).first()
    if row is None:
        return None
    held = await session.execute(
        text(
            "SELECT p.code FROM holdings h JOIN products p ON p.id = h.product_id WHERE h.customer_id = :id"
        ),
        {"id": customer_id},
    )
    names = await session.execute(text("SELECT code, name FROM products"))
    since = row.first_since or row.created_at
    if isinstance(since, str):
        since = date.fromisoformat(since[:10])
    elif hasattr(since, "date"):
        since = since.date()
    return OfferFacts(
        tier=row.tier,
        blacklisted=bool(row.blacklisted),
        open_complaints=int(row.open_complaints),
        customer_since=since,
        held=frozenset(str(c) for (c,) in held.all()),
        names={str(c): str(n) for c, n in names.all()},
    )


async def product_names(session: AsyncSession, codes: Collection[str] | None = None) -> dict[str, str]:
    """Product code → the name customers read, for these codes (every product when None),
    by name."""
    query = select(Product.code, Product.name).order_by(Product.name, Product.code)
    if codes is not None:
        query = query.where(Product.code.in_(codes))
    return {str(code): str(name) for code, name in (await session.execute(query)).all()}
