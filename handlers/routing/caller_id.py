"""Which caller id an outbound call shows, as Zammad's Generic CTI chooses it: the first row
of the routing table whose destination pattern matches the dialled number as the PBX sent
it (`*` stands for one or more characters, the rest is literal), else the default caller id,
else none (the PBX keeps its own). Pure: the table comes from the settings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class CallerIdRule:
    dest: str  # a destination pattern: digits, with `*` for "one or more of anything"
    caller_id: str
    note: str = ""


@dataclass(frozen=True)
class OutboundCallerIds:
    routing_table: Sequence[CallerIdRule] = ()
    default_caller_id: str | None = None

    def for_destination(self, number: str | None) -> str | None:
        if not number:
            return None
        for rule in self.routing_table:
            pattern = ".+?".join(re.escape(part) for part in rule.dest.split("*"))
            if re.fullmatch(pattern, number):
                return rule.caller_id
        return self.default_caller_id or None
