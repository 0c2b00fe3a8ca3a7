"""Rows of an import file: the header row, and each row read into a customer's fields or
rejected with the reason an operator can act on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from handlers.customers import TIERS
from handlers.errors import InvalidInput
from handlers.identities import mask, normalise
from handlers.phone_fast import PhoneReader
from storage import importing as store
from storage.customers import Identity

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
