"""Who is talking to the assistant, in which language, and how the actions answer.

The sender is who the Rasa server saw, never who the user says they are: a customer's
record opens only to a sender the channel vouches for (`handlers/assistant.py`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import assistant
from handlers.complaints import ComplaintPolicy
from handlers.inbox.routing import InboxPolicy
from storage.customers import CustomerRecord
from storage.events import EventBus
from storage.users import Actor
from templates import language_of, message

# Where a trusted voice gateway puts the caller's number in the message metadata.
CALLER_KEY = "caller"
# Audit actor names are at most this long (the column's width).
ACTOR_WIDTH = 128


@dataclass(frozen=True)
class Services:
    """What the actions need, handed over by whoever serves them (no defaults: an action
    never opens a database or reads settings of its own)."""

    sessions: Callable[[], AsyncSession]
    region: str
    policy: ComplaintPolicy
    trusted_channels: frozenset[str]
    inbox: InboxPolicy  # how a conversation handed to a person is routed
    events: Callable[[], EventBus]  # opened with the application, after the actions are built


@dataclass(frozen=True)
class Sender:
    """The conversation's sender as the Rasa server saw it (not as the user described it)."""

    channel: str
    sender_id: str
    caller: str | None  # the number a trusted voice gateway vouches for

    @property
    def actor(self) -> Actor:
        name = f"rasa:{self.channel}:{self.sender_id}"
        return Actor(name="".join(ch for ch in name if ch.isprintable())[:ACTOR_WIDTH], via="rasa")


def _latest_user_event(tracker: Tracker) -> dict[str, Any]:
    for event in reversed(tracker.events):
        if isinstance(event, dict) and event.get("event") == "user":
            return dict(event)
    return {}


def sender_of(tracker: Tracker, trusted_channels: frozenset[str]) -> Sender:
    """The channel and sender Rasa recorded for the latest user message; the caller's
    number only from a channel the operator marked as trusted."""
    event = _latest_user_event(tracker)
    channel = str(event.get("input_channel") or "")
    caller = None
    if channel in trusted_channels:
        metadata = event.get("metadata") or (tracker.latest_message or {}).get("metadata")
        raw = metadata.get(CALLER_KEY) if isinstance(metadata, dict) else None
        caller = str(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) and raw else None
    return Sender(channel, str(tracker.sender_id or ""), caller)


async def verified_customer(
    services: Services, session: AsyncSession, sender: Sender
) -> CustomerRecord | None:
    """The customer the channel vouches for as this sender, or None."""
    return await assistant.verified_customer(
        session,
        channel=sender.channel,
        sender_id=sender.sender_id,
        caller=sender.caller,
        trusted_channels=services.trusted_channels,
        region=services.region,
    )


def say(dispatcher: CollectingDispatcher, language: str, template: str, **context: Any) -> None:
    dispatcher.utter_message(text=message(f"rasa_{template}", language, **context))


def conversation_language(tracker: Tracker, customer: CustomerRecord | None = None) -> str:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return language_of(
        tracker.get_slot("language") or (customer.language if customer else None) or metadata.get("language")
    )


@dataclass(frozen=True)
class Turn:
    """One run of an action: where its replies go, the conversation so far, the open
    session and the language to answer in."""

    dispatcher: CollectingDispatcher
    tracker: Tracker
    session: AsyncSession
    language: str

    def say(self, template: str, **context: Any) -> None:
        say(self.dispatcher, self.language, template, **context)
