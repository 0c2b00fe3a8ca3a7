"""The tier quota pass: the tier shares an import file would produce, worked out before
anything is loaded, and a file over a quota refused unless an admin forces it.

Rows are matched to customers as the import itself matches them (`load_rows` in
handlers/importing/loading.py): a row is the customer who holds any of its phones or its
e-mail, in the database or through an earlier row of the file; a row matching two
customers will be rejected and counts for nothing; the last row for a customer sets its
tier, an empty tier cell keeps the stored one, a new customer without one is regular.
So a customer re-imported, or listed twice in a file, is counted once.

Memory grows with what the file adds, not with its length: one entry per identity the
database does not hold yet, one byte per new customer, one entry per customer whose
tier the file changes. The identities are kept as hashes, not strings.

That pass parses the file and looks up every identity's owner: about a third of an
import's time. Most files cannot push a tier over its quota whatever their rows turn out
to be (a month of new customers into a base of a million), and a count of the tier
column, read without parsing the rest, shows it: the pass runs only when it could not.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.customers import TIERS, TierLimits, TierShare, over_quota
from handlers.errors import QuotaExceeded
from handlers.importing.rows import Rejected
from handlers.importing.source import CsvSource, ParsePool, parsed_batches
from handlers.phone_fast import PhoneReader
from storage import customers as customers_repo
from storage import importing as store
from storage.audit import Actor, audit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shares:
    """Customers by tier before the import and after it."""

    before: Mapping[str, int]
    after: Mapping[str, int]

    def over(self, limits: TierLimits) -> list[TierShare]:
        grown = [tier for tier, count in self.after.items() if count > self.before.get(tier, 0)]
        return over_quota(self.after, limits, grown)

    def details(self) -> dict[str, dict[str, int]]:
        return {"before": dict(self.before), "after": dict(self.after)}


def _key(identity: store.Key) -> int:
    # A 64-bit hash instead of the strings: two identities colliding would at worst count
    # two new customers as one, off by one in a share; the import itself is not affected.
    return hash(identity)


class _Tally:
    """Who each row of the file is, and the tier it leaves them with."""

    def __init__(self) -> None:
        self.seen: dict[int, int] = {}  # identity new to the database → customer: id > 0, new < 0
        self.new_tiers = bytearray()  # index into TIERS for new customer number -key - 1
        self.changed: dict[int, tuple[str, str]] = {}  # existing id → (stored tier, file's tier)

    def row(self, row: store.ImportRow, owners: Mapping[store.Key, int], stored: Mapping[int, str]) -> None:
        found: set[int] = set()
        for identity in row.identities:
            owner = owners.get(identity, self.seen.get(_key(identity)))
            if owner is not None:
                found.add(owner)
        if len(found) > 1:
            return  # the import rejects a row that is two customers
        key = found.pop() if found else 0
        if not key:
            self.new_tiers.append(TIERS.index(row.tier or "regular"))
            key = -len(self.new_tiers)
        elif key < 0:
            if row.tier is not None:
                self.new_tiers[-key - 1] = TIERS.index(row.tier)
        elif row.tier is not None:
            if row.tier == stored[key]:
                self.changed.pop(key, None)
            else:
                self.changed[key] = (stored[key], row.tier)
        for identity in row.identities:
            if identity not in owners:
                self.seen[_key(identity)] = key

    def existing(self, identities: Iterable[store.Key]) -> set[int]:
        """Customers in the database that earlier rows gave some of these identities."""
        return {key for i in identities if (key := self.seen.get(_key(i), 0)) > 0}

    def after(self, before: Mapping[str, int]) -> dict[str, int]:
        counts = {tier: before.get(tier, 0) for tier in (*TIERS, *before)}
        for index in self.new_tiers:
            counts[TIERS[index]] += 1
        for old, new in self.changed.values():
            counts[old] -= 1
            counts[new] += 1
        return counts


def tiers_named(source: CsvSource) -> Counter[str]:
    """How many rows of the file name each tier, an empty cell counted as regular (a new
    customer's tier); only the tier column is looked at, and the file is rewound after.
    A read error stops the import here, before anything is loaded, as the pass would."""
    index = source.columns.known["tier"]
    named: Counter[str] = Counter()
    for _line, values in source.rows():
        if index < len(values):
            named[values[index].strip().lower() or "regular"] += 1
    source.rewind()
    return named


def could_go_over(before: Mapping[str, int], named: Mapping[str, int], limits: TierLimits) -> bool:
    """Whether a file naming tiers this often could push one over its quota, whoever its
    rows turn out to be. A tier ends with at most its customers before plus the rows that
    name it (each row makes at most one customer of its tier: a new one, or one moved to
    it), among at least the customers there were before (an import removes nobody); a tier
    no row names cannot grow, and only a tier that grows is refused (`Shares.over`)."""
    total = sum(before.values())
    for tier, limit in limits.shares.items():
        if named.get(tier, 0) and (not total or (before.get(tier, 0) + named[tier]) / total > limit):
            return True
    return False


async def shares_after(
    session: AsyncSession, batches: AsyncIterable[Sequence[store.ImportRow]], before: Mapping[str, int]
) -> Shares:
    """Read every batch of good rows; nothing is written."""
    tally = _Tally()
    async for rows in batches:
        identities = {i for row in rows for i in row.identities}
        # Nothing is written during this pass, so the stored tier is the one before the import.
        owners, stored = await store.owners_and_tiers(session, identities)
        if earlier := tally.existing(identities) - stored.keys():
            stored.update(await store.tiers(session, earlier))
        for row in rows:
            tally.row(row, owners, stored)
    await session.rollback()  # only reads: end the transaction before the import opens its own
    return Shares(before=before, after=tally.after(before))


async def _good_rows(
    batches: AsyncIterator[tuple[list[store.ImportRow], list[Rejected]]],
) -> AsyncIterator[list[store.ImportRow]]:
    async for good, _bad in batches:
        yield good


async def check_tiers(
    session: AsyncSession,
    source: CsvSource,
    phones: PhoneReader,
    pool: ParsePool | None,
    *,
    actor: Actor,
    batch_size: int,
    limits: TierLimits,
    force_tiers: bool,
) -> list[TierShare]:
    """Refuse a file that would push a tier over its quota, before loading anything;
    unless `force_tiers` says the actor overrides the quota, which the audit trail records.
    Returns the shares overridden. A file without a tier column only adds regular
    customers and changes no tier, so it is not read twice; one whose tier column alone
    shows it cannot go over (`could_go_over`) is not parsed twice."""
    if "tier" not in source.columns.known or not limits.shares:
        return []
    before = await customers_repo.count_by_tier(session)
    # Into an empty base the count lets through only a file naming no limited tier: rare
    # enough not to read the file a third time for it.
    if any(before.values()) and not could_go_over(
        before, await asyncio.to_thread(tiers_named, source), limits
    ):
        await session.rollback()  # only read: end the transaction before the import opens its own
        return []
    async with aclosing(parsed_batches(source, phones, batch_size, pool)) as batches:
        shares = await shares_after(session, _good_rows(batches), before)
    source.rewind()
    over = shares.over(limits)
    if not over:
        return []
    described = "; ".join(share.describe() for share in over)
    if not force_tiers:
        raise QuotaExceeded(f"after this file, {described}", over=[share.details() for share in over])
    await audit(
        session,
        actor=actor,
        action="import.force_tiers",
        customer_id=None,
        subject_type="import",
        subject_id=os.path.basename(source.path)[-64:],  # the column's size; the path is in details
        details={"file": source.path, "over": [share.details() for share in over], **shares.details()},
    )
    await session.commit()
    log.warning("import of %s forced past the tier quotas by %s: %s", source.path, actor.name, described)
    return over
