"""The `Channel` protocol campaign messages go out through, and what crosses it.

The Telegram implementation is bot/campaign_channel.py; the dialer is not a channel (the
PBX pulls its calls from handlers/campaigns/dialer.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Outbound:
    """One message for a channel to deliver."""

    address: str
    text: str
    language: str
    kind: str  # csat_survey | nps_survey | follow_up | cross_sell: decides the buttons
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    status: str  # sent | blocked | failed | retry
    error: str | None = None


class Channel(Protocol):
    async def send(self, item: Outbound) -> Delivery: ...
