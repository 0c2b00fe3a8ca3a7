"""Rows of an import file: the header row, and each row read into a customer's fields or
rejected with the reason an operator can act on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring

from handlers.customers import TIERS
from handlers.errors import InvalidInput
from handlers.identities import mask, normalise
from handlers.phone_fast import PhoneReader
from storage import importing as store

KNOWN_COLUMNS = ("name", "phone", "email", "tier", "blacklisted", "language", "region")
BOOLEANS = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}
# Field sizes of the customers table: a longer value is a bad row, not a database error.
LIMITS = {"name": 200, "tier": 16, "language": 16, "region": 64}

# A string as a JSON string, as json.dumps(…, ensure_ascii=False) writes it: the attributes
# are written straight from their cells, a third of the cost of json.dumps of a dict.
_json_string: Callable[[str], str] = encode_basestring


@dataclass(frozen=True)
class Columns:
    """The header row: where each known column is, and which others become attributes."""

    count: int
    known: dict[str, int]
    extras: tuple[tuple[int, str], ...]
    # Worked out once per file for parse_row, which runs once per row: each known column's
    # index (None when the file has no such column), and each extra column's index with
    # its name already encoded as a JSON key.
    phone: int | None = field(init=False)
    email: int | None = field(init=False)
    tier: int | None = field(init=False)
    blacklisted: int | None = field(init=False)
    limited: tuple[tuple[int | None, str, int], ...] = field(init=False)  # (index, name, limit)
    extras_json: tuple[tuple[int, str], ...] = field(init=False)

    def __post_init__(self) -> None:
        for name in ("phone", "email", "tier", "blacklisted"):
            object.__setattr__(self, name, self.known.get(name))
        limited = tuple((self.known.get(name), name, LIMITS[name]) for name in ("name", "language", "region"))
        object.__setattr__(self, "limited", limited)
        extras_json = tuple((i, _json_string(name) + ":") for i, name in self.extras)
        object.__setattr__(self, "extras_json", extras_json)


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


def parse_row(
    columns: Columns, values: Sequence[str], line: int, phones: PhoneReader
) -> store.ImportRow | Rejected:
    """A row's fields, each stripped, None for an empty cell or a column the file lacks (an
    empty cell leaves the customer's stored value as it is); or the reason it is rejected."""
    if len(values) != columns.count:
        return Rejected(line, f"expected {columns.count} columns, found {len(values)}")
    identities: dict[store.Key, None] = {}  # ordered and de-duplicated
    index = columns.phone
    if index is not None:
        for raw in values[index].strip().split(";"):
            if not raw.strip():
                continue
            try:
                identities["phone", phones.read(raw)] = None
            except InvalidInput as error:
                return Rejected(line, f"phone {mask(raw.strip())}: {error.message}")
    index = columns.email
    if index is not None and (email := values[index].strip()):
        try:
            identities["email", normalise("email", email)] = None
        except InvalidInput as error:
            return Rejected(line, f"e-mail {mask(email)}: {error.message}")
    if not identities:
        return Rejected(line, "no phone and no e-mail: nothing to recognise the customer by")
    tier = (values[columns.tier].strip().lower() or None) if columns.tier is not None else None
    if tier is not None and tier not in TIERS:
        return Rejected(line, f"unknown tier {tier[:20]!r} (allowed: {', '.join(TIERS)})")
    blacklisted: bool | None = None
    index = columns.blacklisted
    if index is not None and (flag := values[index].strip()):
        blacklisted = BOOLEANS.get(flag.lower())
        if blacklisted is None:
            return Rejected(line, f"blacklisted is {flag[:20]!r}; use yes/no, true/false or 1/0")
    fields: list[str | None] = []  # name, language, region
    for index, name, limit in columns.limited:
        value = (values[index].strip() or None) if index is not None else None
        if value is not None and len(value) > limit:
            return Rejected(line, f"{name} is longer than {limit} characters")
        fields.append(value)
    attributes = [key + _json_string(value) for i, key in columns.extras_json if (value := values[i].strip())]
    return store.ImportRow(
        line,
        fields[0],
        tier,
        blacklisted,
        fields[1],
        fields[2],
        tuple(identities),
        "{" + ",".join(attributes) + "}" if attributes else "{}",
    )
