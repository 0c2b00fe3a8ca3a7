"""Loading one batch of good rows: match each to a customer, then upsert set-based."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.identities import mask
from handlers.importing.rows import Rejected
from storage import importing as store


@dataclass
class Summary:
    created: int = 0
    updated: int = 0
    rejected: int = 0
    tiers_forced: list[str] = field(default_factory=list)  # quotas an admin overrode

    @property
    def loaded(self) -> int:
        return self.created + self.updated


def _conflict(row: store.ImportRow, owners: dict[store.Key, int]) -> Rejected:
    held = sorted((owners[i], i) for i in row.identities if i in owners)
    parts = [f"{kind} {mask(value)} belongs to customer {owner}" for owner, (kind, value) in held]
    return Rejected(
        row.line, "; ".join(parts) + " — one row cannot be two customers; merge them first or fix the row"
    )


async def load_rows(
    session: AsyncSession, rows: Sequence[store.ImportRow], summary: Summary
) -> list[Rejected]:
    """Match and upsert one batch; the caller commits it.

    Set-based writes need each customer written at most once per statement, so a row that
    shares an identity or a matched customer with an earlier row of the batch waits for a
    second round, which sees what the first one wrote (a file repeating a customer works).
    """
    pending = list(rows)
    rejected: list[Rejected] = []
    while pending:
        owners = await store.owners(session, {i for row in pending for i in row.identities})
        claimed_identities: set[store.Key] = set()
        claimed_customers: set[int] = set()
        deferred: list[store.ImportRow] = []
        writes: list[tuple[int | None, store.ImportRow]] = []
        for row in pending:
            identities = row.identities
            customer_id: int | None = None
            if owners:
                found = {owners[i] for i in identities if i in owners}
                if len(found) > 1:
                    rejected.append(_conflict(row, owners))
                    continue
                customer_id = found.pop() if found else None
            busy = not claimed_identities.isdisjoint(identities) or customer_id in claimed_customers
            # A deferred row still claims its identities and customer, so that rows after
            # it in the file are applied after it too.
            claimed_identities.update(identities)
            if customer_id is not None:
                claimed_customers.add(customer_id)
            if busy:
                deferred.append(row)
            else:
                writes.append((customer_id, row))
        created, updated = await store.upsert(session, writes)
        summary.created += created
        summary.updated += updated
        pending = deferred
    summary.rejected += len(rejected)
    return rejected
