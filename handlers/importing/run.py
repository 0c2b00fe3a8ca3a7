"""The import use case: the tier quota pass first, then the file loaded batch by batch,
one transaction each (the unit of work), and one audit entry at the end."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from contextlib import aclosing, contextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.customers import TierLimits
from handlers.importing.loading import Summary, load_rows
from handlers.importing.rows import Rejected
from handlers.importing.source import CsvSource, ParsePool, parse_pool, parsed_batches
from handlers.importing.tier_quota import check_tiers
from handlers.phone_fast import PhoneReader
from storage import importing as store
from storage.audit import Actor, audit

# The statistics are refreshed when the customers table has grown materially since they
# were last taken: by a tenth (autovacuum's own default analyze_scale_factor), and by at
# least a thousand rows. An import into an empty table needs them early (the planner's
# "empty" would cost every batch a scan); one into a table of a million needs them once
# per 100,000 new customers, not at every doubling of the rows this import created.
ANALYZE_GROWTH = 0.1
ANALYZE_MIN_ROWS = 1000

# CPython's cyclic garbage collector looks at its youngest generation every 700 containers
# allocated and not yet freed. A batch of parsed rows alone keeps some 10,000 alive while it
# is written, so an import of 100,000 rows set off about 800 collections, each going over
# the batches alive at the time: 0.4-0.5 s of the 2.3-2.5 s of CPU the import itself took
# (a gc callback's count; the process's objects frozen first saved only half of it). While
# an import runs the threshold is raised, and put back after. At 10,000: 47 collections,
# 0.1 s, peak memory as before; at 20,000 or more almost none, but 8-9 MB more memory
# (cyclic garbage left longer).
YOUNG_COLLECTION_THRESHOLD = 10_000


async def import_customers(
    session: AsyncSession,
    source: CsvSource,
    *,
    actor: Actor,
    region: str,
    limits: TierLimits,
    force_tiers: bool,
    batch_size: int = 2000,
    on_batch: Callable[[Summary, list[Rejected]], None] = lambda _summary, _rejected: None,
) -> Summary:
    """Load every good row of `source`; each batch is committed on its own, so an
    interrupted import keeps what it loaded and a re-run updates it.

    The import is one entry in the audit trail (who, which file, how many rows), written
    at the end even when it stops early, since what it loaded by then stays loaded.

    First, when the file sets tiers, a pass over it works out the shares of the tiers
    after the import (handlers/importing/tier_quota.py); over a quota nothing is loaded
    (QuotaExceeded) unless `force_tiers`: the actor overrides it, and the trail says so.
    """
    summary = Summary()
    complete = False
    try:
        with _fewer_collections():
            await _load(
                session,
                source,
                summary,
                actor=actor,
                region=region,
                limits=limits,
                force_tiers=force_tiers,
                batch_size=batch_size,
                on_batch=on_batch,
            )
        complete = True
    finally:
        await session.rollback()  # a batch cut short leaves nothing half-written behind
        await audit(
            session,
            actor=actor,
            action="customer.import",
            customer_id=None,
            subject_type="import",
            subject_id=os.path.basename(source.path)[-64:],  # the column's size; the path is in details
            details={
                "file": source.path,
                "created": summary.created,
                "updated": summary.updated,
                "rejected": summary.rejected,
                "complete": complete,
            },
        )
        await session.commit()
    return summary


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """The youngest generation collected every YOUNG_COLLECTION_THRESHOLD containers, not
    every 700, until the import ends (for the whole process: its other work only has its
    cyclic garbage collected a little later). A collector switched off stays off."""
    young, *older = gc.get_threshold()
    if young:
        gc.set_threshold(max(young, YOUNG_COLLECTION_THRESHOLD), *older)
    try:
        yield
    finally:
        if young:
            gc.set_threshold(young, *older)


async def _load(
    session: AsyncSession,
    source: CsvSource,
    summary: Summary,
    *,
    actor: Actor,
    region: str,
    limits: TierLimits,
    force_tiers: bool,
    batch_size: int,
    on_batch: Callable[[Summary, list[Rejected]], None],
) -> None:
    phones = PhoneReader(region)
    with parse_pool(source, phones) as pool:
        forced = await check_tiers(
            session,
            source,
            phones,
            pool,
            actor=actor,
            batch_size=batch_size,
            limits=limits,
            force_tiers=force_tiers,
        )
        summary.tiers_forced = [share.describe() for share in forced]
        await _load_batches(session, source, phones, pool, summary, batch_size=batch_size, on_batch=on_batch)


async def _load_batches(
    session: AsyncSession,
    source: CsvSource,
    phones: PhoneReader,
    pool: ParsePool | None,
    summary: Summary,
    *,
    batch_size: int,
    on_batch: Callable[[Summary, list[Rejected]], None],
) -> None:
    counted = await store.rows_at_last_statistics(session)  # the table's size at its last ANALYZE
    created_then = 0  # summary.created at that moment
    async with aclosing(parsed_batches(source, phones, batch_size, pool)) as batches:
        async for good, bad in batches:
            summary.rejected += len(bad)
            rejected = bad + await load_rows(session, good, summary)
            grown = summary.created - created_then
            if grown >= max(ANALYZE_MIN_ROWS, ANALYZE_GROWTH * counted):
                await store.refresh_statistics(session)
                counted, created_then = counted + grown, summary.created
            await session.commit()  # each batch on its own: an interruption keeps what is loaded
            on_batch(summary, sorted(rejected, key=lambda r: r.line))
