"""Bulk customer import from CSV: read, validate, match and upsert, one batch at a time.

Channel-neutral: the CLI is one caller, an upload endpoint could be another. The file is
streamed; only one batch of rows is held at a time. A row matches an existing customer
through any of its phones or its e-mail, and updates that customer; a row whose
identities belong to two different customers is rejected rather than merged silently
(merging is a supervisor's decision, `merge_customers`). A file that would push a tier
over its quota is refused before anything is loaded (handlers/import_shares.py).
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.customers import TIERS, TierLimits, TierShare
from handlers.errors import InvalidInput, QuotaExceeded
from handlers.identities import mask, normalise
from handlers.import_shares import shares_after
from handlers.phone_fast import PhoneReader
from storage import importing as store
from storage.audit import Actor, audit
from storage.customers import Identity

log = logging.getLogger(__name__)

KNOWN_COLUMNS = ("name", "phone", "email", "tier", "blacklisted", "language", "region")
BOOLEANS = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}
# Field sizes of the customers table: a longer value is a bad row, not a database error.
LIMITS = {"name": 200, "tier": 16, "language": 16, "region": 64}


@dataclass(frozen=True)
class Columns:
    """The header row: where each known column is, and which others become attributes."""

    count: int
    known: dict[str, int]
    extras: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str


@dataclass
class Summary:
    created: int = 0
    updated: int = 0
    rejected: int = 0
    tiers_forced: list[str] = field(default_factory=list)  # quotas an admin overrode

    @property
    def loaded(self) -> int:
        return self.created + self.updated


def read_header(fields: Sequence[str]) -> Columns:
    """Header names are matched ignoring case and surrounding spaces."""
    names = [name.strip().lower() for name in fields]
    if "phone" not in names and "email" not in names:
        raise InvalidInput("the header row names neither a `phone` nor an `email` column", field="header")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidInput(f"the header row names column `{name}` twice", field="header")
        if not name:
            raise InvalidInput("the header row has a column without a name", field="header")
        seen.add(name)
    known = {name: i for i, name in enumerate(names) if name in KNOWN_COLUMNS}
    extras = tuple((i, name) for i, name in enumerate(names) if name not in KNOWN_COLUMNS)
    return Columns(count=len(names), known=known, extras=extras)


def _cell(columns: Columns, values: Sequence[str], name: str) -> str | None:
    """A known column's stripped value; None when the column is absent or the cell empty
    (an empty cell leaves the customer's stored value as it is)."""
    index = columns.known.get(name)
    if index is None:
        return None
    value = values[index].strip()
    return value or None


def parse_row(
    columns: Columns, values: Sequence[str], line: int, phones: PhoneReader
) -> store.ImportRow | Rejected:
    if len(values) != columns.count:
        return Rejected(line, f"expected {columns.count} columns, found {len(values)}")
    identities: dict[Identity, None] = {}  # ordered and de-duplicated
    for raw in (_cell(columns, values, "phone") or "").split(";"):
        if not raw.strip():
            continue
        try:
            identities[Identity("phone", phones.read(raw))] = None
        except InvalidInput as error:
            return Rejected(line, f"phone {mask(raw.strip())}: {error.message}")
    email = _cell(columns, values, "email")
    if email is not None:
        try:
            identities[Identity("email", normalise("email", email))] = None
        except InvalidInput as error:
            return Rejected(line, f"e-mail {mask(email)}: {error.message}")
    if not identities:
        return Rejected(line, "no phone and no e-mail: nothing to recognise the customer by")
    tier = _cell(columns, values, "tier")
    if tier is not None:
        tier = tier.lower()
        if tier not in TIERS:
            return Rejected(line, f"unknown tier {tier[:20]!r} (allowed: {', '.join(TIERS)})")
    blacklisted: bool | None = None
    flag = _cell(columns, values, "blacklisted")
    if flag is not None:
        blacklisted = BOOLEANS.get(flag.lower())
        if blacklisted is None:
            return Rejected(line, f"blacklisted is {flag[:20]!r}; use yes/no, true/false or 1/0")
    fields = {name: _cell(columns, values, name) for name in LIMITS}
    for name, limit in LIMITS.items():
        value = fields[name]
        if value is not None and len(value) > limit:
            return Rejected(line, f"{name} is longer than {limit} characters")
    attributes = {name: values[i].strip() for i, name in columns.extras if values[i].strip()}
    return store.ImportRow(
        line=line,
        name=fields["name"],
        tier=tier,
        blacklisted=blacklisted,
        language=fields["language"],
        region=fields["region"],
        attributes=attributes,
        identities=tuple(identities),
    )


class CsvSource:
    """Rows of a CSV file with their line numbers, read as UTF-8 (a BOM is fine).

    `position` is how many bytes have been read from the file, for a progress bar.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._binary = open(path, "rb")  # noqa: SIM115 - closed by close() or the with block
        self.size = os.fstat(self._binary.fileno()).st_size
        self._text = io.TextIOWrapper(self._binary, encoding="utf-8-sig", newline="")
        self._reader = csv.reader(self._text)
        try:
            header = next(self._reader, None)
            if header is None:
                raise InvalidInput("the file is empty; it needs a header row", field="file")
            self.columns = read_header(header)
        except UnicodeDecodeError as error:
            self.close()
            raise InvalidInput(f"the file is not UTF-8 ({error.reason})", field="file") from error
        except csv.Error as error:
            self.close()
            raise InvalidInput(f"cannot read the header row: {error}", field="file") from error
        except InvalidInput:
            self.close()
            raise

    def close(self) -> None:
        self._text.close()

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def position(self) -> int:
        return self._binary.tell()

    def rewind(self) -> None:
        """Back to the first row after the header, for a second pass over the file."""
        self._text.seek(0)
        self._reader = csv.reader(self._text)
        next(self._reader)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        line = self._reader.line_num
        while True:
            try:
                values = next(self._reader, None)
            except UnicodeDecodeError as error:
                raise InvalidInput(
                    f"the file is not UTF-8 ({error.reason}), somewhere after line {line}"
                ) from error
            except csv.Error as error:
                raise InvalidInput(f"line {line + 1}: {error}") from error
            if values is None:
                return
            start, line = line + 1, self._reader.line_num
            if values and any(v.strip() for v in values):  # blank lines are not rows
                yield start, values

    def batches(self, size: int) -> Iterator[list[tuple[int, list[str]]]]:
        batch: list[tuple[int, list[str]]] = []
        for row in self.rows():
            batch.append(row)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch


def _conflict(row: store.ImportRow, owners: dict[Identity, int]) -> Rejected:
    held = sorted((owners[i], i) for i in row.identities if i in owners)
    parts = [
        f"{identity.kind} {mask(identity.value)} belongs to customer {owner}" for owner, identity in held
    ]
    return Rejected(
        row.line, "; ".join(parts) + " — one row cannot be two customers; merge them first or fix the row"
    )


async def load_rows(
    session: AsyncSession, rows: Sequence[store.ImportRow], summary: Summary
) -> list[Rejected]:
    """Match and upsert one batch in one transaction.

    Set-based writes need each customer written at most once per statement, so a row that
    shares an identity or a matched customer with an earlier row of the batch waits for a
    second round, which sees what the first one wrote (a file repeating a customer works).
    """
    pending = list(rows)
    rejected: list[Rejected] = []
    while pending:
        owners = await store.owners(session, {i for row in pending for i in row.identities})
        claimed_identities: set[Identity] = set()
        claimed_customers: set[int] = set()
        deferred: list[store.ImportRow] = []
        writes: list[tuple[int | None, store.ImportRow]] = []
        for row in pending:
            found = {owners[i] for i in row.identities if i in owners}
            if len(found) > 1:
                rejected.append(_conflict(row, owners))
                continue
            customer_id = found.pop() if found else None
            busy = claimed_identities.intersection(row.identities) or customer_id in claimed_customers
            # A deferred row still claims its identities and customer, so that rows after
            # it in the file are applied after it too.
            claimed_identities.update(row.identities)
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
    await session.commit()
    summary.rejected += len(rejected)
    return rejected


def _parse_batch(
    batches: Iterator[list[tuple[int, list[str]]]], columns: Columns, phones: PhoneReader
) -> tuple[list[store.ImportRow], list[Rejected]] | None:
    """Read and parse the next batch; None at the end of the file."""
    batch = next(batches, None)
    if batch is None:
        return None
    good: list[store.ImportRow] = []
    bad: list[Rejected] = []
    for line, values in batch:
        parsed = parse_row(columns, values, line, phones)
        if isinstance(parsed, Rejected):
            bad.append(parsed)
        else:
            good.append(parsed)
    return good, bad


async def _parsed_batches(
    source: CsvSource, phones: PhoneReader, batch_size: int
) -> AsyncGenerator[tuple[list[store.ImportRow], list[Rejected]], None]:
    """The file's batches, parsed: the next one is read and parsed in a thread while the
    caller works on the current one (parsing is about half of an import's time, and the
    database works on another core). At most two batches are in memory. Use it inside
    `aclosing`, so that the reader thread is never left running against a closed file."""
    batches = source.batches(max(1, batch_size))
    parsed = _parse_batch(batches, source.columns, phones)
    while parsed is not None:
        upcoming = asyncio.create_task(asyncio.to_thread(_parse_batch, batches, source.columns, phones))
        try:
            yield parsed
        finally:
            parsed = await upcoming


async def _good_rows(
    batches: AsyncIterator[tuple[list[store.ImportRow], list[Rejected]]],
) -> AsyncIterator[list[store.ImportRow]]:
    async for good, _bad in batches:
        yield good


async def _check_tiers(
    session: AsyncSession,
    source: CsvSource,
    phones: PhoneReader,
    *,
    actor: Actor,
    batch_size: int,
    limits: TierLimits,
    force_tiers: bool,
) -> list[TierShare]:
    """Refuse a file that would push a tier over its quota, before loading anything;
    unless `force_tiers` says the actor overrides the quota, which the audit trail records.
    Returns the shares overridden. A file without a tier column only adds regular
    customers and changes no tier, so it is not read twice."""
    if "tier" not in source.columns.known or not limits.shares:
        return []
    async with aclosing(_parsed_batches(source, phones, batch_size)) as batches:
        shares = await shares_after(session, _good_rows(batches))
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
    after the import (handlers/import_shares.py); over a quota nothing is loaded
    (QuotaExceeded) unless `force_tiers`: the actor overrides it, and the trail says so.
    """
    summary = Summary()
    complete = False
    try:
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
    forced = await _check_tiers(
        session, source, phones, actor=actor, batch_size=batch_size, limits=limits, force_tiers=force_tiers
    )
    summary.tiers_forced = [share.describe() for share in forced]
    next_statistics = 1000  # rows created; doubles each time the statistics are refreshed
    async with aclosing(_parsed_batches(source, phones, batch_size)) as batches:
        async for good, bad in batches:
            summary.rejected += len(bad)
            rejected = bad + await load_rows(session, good, summary)
            if summary.created >= next_statistics:
                await store.refresh_statistics(session)
                next_statistics = 2 * summary.created
            on_batch(summary, sorted(rejected, key=lambda r: r.line))
