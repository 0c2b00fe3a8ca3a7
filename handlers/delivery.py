"""How a message to a customer goes out, and what happens when it does not: one channel
contract and one retry policy for every sender (the outbox's notifications and campaigns).

A channel reports what happened in its own transport's terms reduced to four facts; this
module decides what each means: what is final, what is tried again, and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from storage import telegram as telegram_repo

# Sends of one message before a channel that does not answer makes it `failed`; with the
# backoff below the last try is about 15 minutes after the first.
MAX_ATTEMPTS = 6

# sent: the platform accepted it. blocked: the recipient has blocked us. refused: the
# platform refuses this message as it is (bad request, unknown chat), so sending it again
# would be refused again. unavailable: no answer (network trouble, a 5xx).
Result = Literal["sent", "blocked", "refused", "unavailable"]


@dataclass(frozen=True)
class Outbound:
    """One message for a channel to deliver."""

    address: str
    text: str
    language: str
    kind: str  # csat_survey | nps_survey | follow_up | cross_sell | …: decides the buttons
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    status: Result
    error: str | None = None


class Channel(Protocol):
    async def send(self, item: Outbound) -> Delivery: ...


@dataclass(frozen=True)
class Settled:
    """What to record: a final status (sent, blocked, failed), or `pending` until `retry_at`."""

    status: str
    error: str | None = None
    retry_at: datetime | None = None


def backoff(attempts: int) -> timedelta:
    """The wait after `attempts` sends: 30 s doubling, at most six hours."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 6 * 3600))


async def known_blocked(session: AsyncSession, channel: str, address: str | None) -> Delivery | None:
    """A Telegram chat we know has blocked the bot (a 403 before, or Telegram's own
    `my_chat_member`): the outcome without asking Telegram again, else None."""
    if channel == "telegram" and address and await telegram_repo.is_blocked(session, address):
        return Delivery("blocked", "the chat has blocked the bot")
    return None


async def settle(
    session: AsyncSession, delivery: Delivery, *, address: str | None, attempts: int, now: datetime
) -> Settled:
    """Decide the outcome of a send (`attempts` counts it) and remember a chat that blocked
    us, in the caller's transaction, so that no campaign picks that chat until it writes again."""
    if delivery.status == "sent":
        return Settled("sent")
    if delivery.status == "blocked":
        if address:
            await telegram_repo.mark_blocked(session, address, now)
        return Settled("blocked", delivery.error)
    if delivery.status == "unavailable" and attempts < MAX_ATTEMPTS:
        return Settled("pending", delivery.error, now + backoff(attempts))
    return Settled("failed", delivery.error)
