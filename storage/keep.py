"""KEEP: the default of an update's typed arguments, meaning "leave the stored value".

None cannot say it, since None is a value some columns store (no closing time, no
overflow queue). Typed keyword arguments rather than `**fields` let mypy check the
column names and their types at every call."""

from __future__ import annotations

from enum import Enum
from typing import Any, Final


class Keep(Enum):
    KEEP = "keep"


KEEP: Final = Keep.KEEP


def given(**values: Any) -> dict[str, Any]:
    """The values that were given, by name: those not left at KEEP."""
    return {name: value for name, value in values.items() if value is not KEEP}
