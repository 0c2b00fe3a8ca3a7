"""`contactdesk import spend FILE.csv`: customers' monthly bills from the billing system, what
the tier review grades from. A header row names the columns: `phone` (any spelling) or
`customer_id`, `month` (`2026-06`), `amount`, `paid_late` (yes/no, true/false, 1/0; empty
is no). A month loaded again replaces that month's figures; a bad row is reported with its
line number and the rest still load."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import InvalidInput
from handlers.identities import normalise
from handlers.importing.rows import BOOLEANS
from storage import importing as customers_found
from storage import tier_review as repo
from storage.tier_review import SpendRow

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MAX_AMOUNT = Decimal("9999999999.99")  # the column's Numeric(12, 2)


@dataclass
class SpendImport:
    loaded: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, why)


@dataclass(frozen=True)
class _Row:
    line: int
    phone: str | None
    customer_id: int | None
    month: date
    amount: Decimal
    paid_late: bool


def _parse(line: int, cells: dict[str, str], region: str) -> _Row | str:
    raw_month = (cells.get("month") or "").strip()
    found = MONTH.match(raw_month)
    if not found or not 1 <= int(found.group(2)) <= 12:
        return f"month is {raw_month[:20]!r}; write it as 2026-06"
    try:
        amount = Decimal((cells.get("amount") or "").strip())
    except InvalidOperation:
        return f"amount is {(cells.get('amount') or '')[:20]!r}, not a number"
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        return "amount must be from 0 to 9,999,999,999.99"
    late = (cells.get("paid_late") or "").strip().lower()
    if late and late not in BOOLEANS:
        return f"paid_late is {late[:20]!r}; use yes/no, true/false or 1/0"
    raw_id = (cells.get("customer_id") or "").strip()
    raw_phone = (cells.get("phone") or "").strip()
    customer_id = int(raw_id) if raw_id.isdigit() and len(raw_id) < 19 else None
    if raw_id and customer_id is None:
        return f"customer_id is {raw_id[:20]!r}, not a customer number"
    phone = None
    if customer_id is None:
        if not raw_phone:
            return "neither customer_id nor phone"
        try:
            phone = normalise("phone", raw_phone, region)
        except InvalidInput as problem:
            return problem.message
    month = date(int(found.group(1)), int(found.group(2)), 1)
    return _Row(line, phone, customer_id, month, amount.quantize(Decimal("0.01")), BOOLEANS.get(late, False))


def _batches(text: TextIO, size: int, region: str, outcome: SpendImport) -> Iterator[list[_Row]]:
    reader = csv.DictReader(text)
    names = {name.strip().lower() for name in reader.fieldnames or ()}
    if "month" not in names or "amount" not in names or not names & {"phone", "customer_id"}:
        raise InvalidInput("the header row must name month, amount, and phone or customer_id")
    batch: list[_Row] = []
    for cells in reader:
        parsed = _parse(reader.line_num, {k.strip().lower(): v for k, v in cells.items() if k}, region)
        if isinstance(parsed, str):
            outcome.rejected.append((reader.line_num, parsed))
            continue
        batch.append(parsed)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def import_spend(
    session: AsyncSession, text: TextIO, *, region: str, batch_size: int = 5000
) -> SpendImport:
    """Load every good row, a batch per transaction; returns what was loaded and rejected."""
    outcome = SpendImport()
    for batch in _batches(text, batch_size, region, outcome):
        phones = {("phone", r.phone) for r in batch if r.phone}
        owners, _ = await customers_found.owners_and_tiers(session, phones)
        ids = {r.customer_id for r in batch if r.customer_id is not None}
        known = set(await customers_found.tiers(session, ids)) if ids else set()
        rows: dict[tuple[int, date], SpendRow] = {}
        for r in batch:
            customer = r.customer_id if r.customer_id is not None else owners.get(("phone", r.phone or ""))
            if customer is None or (r.customer_id is not None and customer not in known):
                outcome.rejected.append((r.line, "no such customer"))
                continue
            rows[(customer, r.month)] = SpendRow(
                customer, r.month, r.amount, r.paid_late
            )  # the last row wins
        await repo.record_spend(session, list(rows.values()))
        await session.commit()
        outcome.loaded += len(rows)
    outcome.rejected.sort()
    return outcome
