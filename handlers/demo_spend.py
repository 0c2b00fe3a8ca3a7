"""The demo's billing history: twelve months of spend for every demo customer, so that the
tier review (`contactdesk tiers review`, or the worker at start) has something to grade and
/supervisor/tiers shows proposals. Most customers pay about their products' prices; a few
tell a story: a regular customer whose roaming made them one of the best payers (an upgrade),
a preferred customer who pays late (a downgrade)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from storage import tier_review as repo
from storage.tier_review import SpendRow

# Extra spend a month beyond the products (roaming, calls abroad), by phone.
EXTRA = {"+8613800000009": Decimal("780"), "+8613800000001": Decimal("260"), "+8613900000016": Decimal("420")}
# Months paid late out of the last twelve, by phone.
LATE = {"+8613800000002": 5, "+8613900000008": 3}


def _month(now: datetime, back: int) -> date:
    index = now.year * 12 + now.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


async def load_spend(
    session: AsyncSession,
    customers: Sequence[tuple[str, int]],
    prices: Mapping[str, Decimal],
    now: datetime,
) -> None:
    """`customers`: (phone, id) with `prices`, each customer's products' monthly total by phone."""
    rows = []
    for phone, customer_id in customers:
        base = prices.get(phone, Decimal(0)) + EXTRA.get(phone, Decimal(0))
        for back in range(1, 13):
            wobble = Decimal(90 + (customer_id * 7 + back * 13) % 25) / 100  # 0.90–1.14
            rows.append(
                SpendRow(
                    customer_id=customer_id,
                    month=_month(now, back),
                    amount=(base * wobble).quantize(Decimal("0.01")),
                    paid_late=back <= LATE.get(phone, 0) * 2 and back % 2 == 1,
                )
            )
    await repo.record_spend(session, rows)
    await session.commit()
