"""Values that strangers send (URLs, forms, JSON, button data), checked before they reach a
query: a bad one is the sender's mistake (a 400), not a database error (a 500).

Python's int() accepts Unicode digits ("٣" is 3) and str.isdigit() accepts "³", which int()
then refuses; neither bounds the size, and a database column does. Only ASCII 0-9 within a
64-bit signed integer is a number here. Text must be storable: PostgreSQL refuses NUL in
text, and no driver can encode a lone surrogate (JSON's "\\ud800")."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

MAX_ID = 2**63 - 1
_DIGITS = frozenset("0123456789")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A sum of money as typed in a form: yuan and at most two decimals, within Numeric(12, 2).
_MONEY = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,2})?")


def whole_number(raw: str | None, *, low: int = 0, high: int = MAX_ID) -> int | None:
    """The value of `raw` if it is ASCII digits only and within [low, high], else None."""
    if not raw or len(raw) > len(str(high)) or not _DIGITS.issuperset(raw):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def money(raw: str | None) -> Decimal | None:
    """The amount in `raw` ("500", "99.5"), or None when it is not a plain sum of money."""
    text = (raw or "").strip()
    return Decimal(text) if _MONEY.fullmatch(text) else None


def storable(value: Any) -> bool:
    """True when every string in `value` (a parsed JSON document, a form) can be stored."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return True


def make_storable(text: str) -> str:
    """`text` with NUL and lone surrogates written out as escapes, for keeping what a
    stranger sent (a rejected update) as evidence rather than refusing it."""
    return _UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)
