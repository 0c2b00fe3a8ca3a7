"""Rasa custom actions: the same use cases for any Rasa assistant (web chat, voice bot).

They hold no business logic: they find out who the sender really is, call `handlers/`, and
answer from templates in the conversation's language. A customer's record opens only to a
sender the channel vouches for (`handlers/assistant.py`); a number or id typed into the
conversation never does. Built with explicit `Services` by `callcenter/rasa_webhook.py`,
which serves them inside the main app and alone (`contactdesk rasa-actions`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import assistant, complaints, offers, surveys
from handlers.complaints import ComplaintPolicy
from handlers.errors import Conflict, DomainError, InvalidInput
from handlers.identities import normalise_phone
from storage.customers import CustomerRecord
from storage.users import Actor
from templates import language_of, message

CATEGORY_WORDS = {
    "network": ("network", "signal", "internet", "网络", "信号", "上网"),
    "billing": ("billing", "bill", "charge", "账单", "扣费", "话费", "费用"),
    "service": ("service", "staff", "服务", "态度"),
    "product": ("product", "device", "产品", "套餐"),
    "other": ("other", "其他"),
}
# Where a trusted voice gateway puts the caller's number in the message metadata.
CALLER_KEY = "caller"
# Audit actor names are at most this long (the column's width).
ACTOR_WIDTH = 128
# The largest id a database integer column holds: anything beyond is no survey of ours.
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Services:
    """What the actions need, handed over by whoever serves them (no defaults: an action
    never opens a database or reads settings of its own)."""

    sessions: Callable[[], AsyncSession]
    region: str
    policy: ComplaintPolicy
    trusted_channels: frozenset[str]


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


def say(dispatcher: CollectingDispatcher, language: str, template: str, **context: Any) -> None:
    dispatcher.utter_message(text=message(f"rasa_{template}", language, **context))


def conversation_language(tracker: Tracker, customer: CustomerRecord | None = None) -> str:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return language_of(
        tracker.get_slot("language") or (customer.language if customer else None) or metadata.get("language")
    )


def _survey_id(raw: Any) -> int | None:
    """The `survey_id` slot (Rasa keeps it as a float) as an id, or None for anything else."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str) and raw.isascii() and raw.isdigit():
        raw = int(raw)
    return raw if isinstance(raw, int) and 0 < raw <= MAX_ID else None


class ServiceAction:
    """Shared by the customer actions (not an Action itself): find out who is asking, refuse
    or answer the unverified, audit, then `serve` the verified customer."""

    action_name = ""
    audit_action = ""  # what the audit trail calls this read of (or act on) the record

    def __init__(self, services: Services) -> None:
        self.services = services

    def name(self) -> str:
        return self.action_name

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        services = self.services
        sender = sender_of(tracker, services.trusted_channels)
        async with services.sessions() as session:
            customer = await assistant.verified_customer(
                session,
                channel=sender.channel,
                sender_id=sender.sender_id,
                caller=sender.caller,
                trusted_channels=services.trusted_channels,
                region=services.region,
            )
            if customer is None:
                return await self.unverified(
                    dispatcher, tracker, session, sender, conversation_language(tracker)
                )
            language = conversation_language(tracker, customer)
            if customer.blacklisted:
                say(dispatcher, language, "refused")
                return [SlotSet("customer_id", None)]
            await assistant.record_access(
                session,
                sender.actor,
                action=self.audit_action,
                customer_id=customer.id,
                details={"rasa_action": self.action_name},
            )
            events = await self.serve(dispatcher, tracker, session, customer, language)
        return [SlotSet("customer_id", customer.id), *events]

    async def unverified(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: AsyncSession,
        sender: Sender,
        language: str,
    ) -> list[EventType]:
        """Nobody vouches for the sender: nothing of any record, politely."""
        say(dispatcher, language, "unverified")
        return [SlotSet("customer_id", None), SlotSet("customer_name", None)]

    async def serve(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: AsyncSession,
        customer: CustomerRecord,
        language: str,
    ) -> list[EventType]:
        raise NotImplementedError


class IdentifyCustomer(ServiceAction, Action):
    action_name = "action_identify_customer"
    audit_action = "customer.read"

    async def serve(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: AsyncSession,
        customer: CustomerRecord,
        language: str,
    ) -> list[EventType]:
        say(dispatcher, language, "identified", name=customer.name)
        return [SlotSet("customer_name", customer.name), SlotSet("language", language)]


class LodgeComplaint(ServiceAction, Action):
    action_name = "action_lodge_complaint"
    audit_action = "complaint.lodge"

    async def unverified(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: AsyncSession,
        sender: Sender,
        language: str,
    ) -> list[EventType]:
        """Anyone may complain; a number nobody vouched for gets a complaint marked for
        agents to verify, and hears back only its ticket."""
        phone = sender.caller or tracker.get_slot("phone")
        if not phone:
            say(dispatcher, language, "need_phone")
            return [SlotSet("customer_id", None)]
        try:
            complaint = await assistant.lodge_for_number(
                session,
                sender.actor,
                phone=str(phone),
                verified=sender.caller is not None,
                category=str(tracker.get_slot("complaint_category") or ""),
                description=str(tracker.get_slot("complaint_description") or ""),
                channel="rasa",
                policy=self.services.policy,
                region=self.services.region,
            )
        except InvalidInput as error:
            if error.details.get("field") == "phone":
                say(dispatcher, language, "need_phone")
                return [SlotSet("customer_id", None), SlotSet("phone", None)]
            say(dispatcher, language, "complaint_incomplete")
            return [SlotSet("complaint_category", None), SlotSet("complaint_description", None)]
        say(dispatcher, language, "complaint_lodged_unverified", ticket=complaint.ticket)
        return [
            SlotSet("customer_id", None),
            SlotSet("ticket", complaint.ticket),
            SlotSet("complaint_category", None),
            SlotSet("complaint_description", None),
        ]

    async def serve(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: AsyncSession,
        customer: CustomerRecord,
        language: str,
    ) -> list[EventType]:
        try:
            complaint = await complaints.lodge(
                session,
                customer_id=customer.id,
                category=str(tracker.get_slot("complaint_category") or ""),
                description=str(tracker.get_slot("complaint_description") or ""),
                channel="rasa",
                policy=self.services.policy,
            )
        except InvalidInput:
            say(dispatcher, language, "complaint_incomplete")
            return [SlotSet("complaint_category", None), SlotSet("complaint_description", None)]
        due = complaint.resolve_due_at.date().isoformat() if complaint.resolve_due_at else ""
        say(dispatcher, language, "complaint_lodged", ticket=complaint.ticket, due=due)
        return [
            SlotSet("ticket", complaint.ticket),
            SlotSet("complaint_category", None),
            SlotSet("complaint_description", None),
        ]


class ComplaintStatus(ServiceAction, Action):
    action_name = "action_complaint_status"
    audit_action = "complaint.list"

    async def serve(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: AsyncSession,
        customer: CustomerRecord,
        language: str,
    ) -> list[EventType]:
        found = await complaints.list_for_customer(session, customer.id)
        if not found:
            say(dispatcher, language, "status_none")
            return []
        for c in found[:5]:
            due = c.resolve_due_at.date().isoformat() if c.resolve_due_at else ""
            say(dispatcher, language, "status_item", ticket=c.ticket, state=c.state, due=due)
        return [SlotSet("ticket", found[0].ticket)]


class RecordSurvey(ServiceAction, Action):
    action_name = "action_record_survey"
    audit_action = "survey.answer"

    async def serve(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: AsyncSession,
        customer: CustomerRecord,
        language: str,
    ) -> list[EventType]:
        raw_score = str(tracker.get_slot("survey_score") or "").strip()
        survey_id = _survey_id(tracker.get_slot("survey_id"))
        if survey_id is None:
            open_surveys = await surveys.list_surveys(
                session, customer_id=customer.id, answered=False, limit=1
            )
            survey_id = open_surveys[0].id if open_surveys else None
        if survey_id is None or not (raw_score.isascii() and raw_score.isdigit() and len(raw_score) <= 2):
            say(dispatcher, language, "survey_none")
            return [SlotSet("survey_score", None)]
        try:
            await surveys.answer(session, survey_id, int(raw_score), customer_id=customer.id)
        except Conflict as error:
            say(
                dispatcher,
                language,
                "survey_expired" if error.error_id == "survey-expired" else "survey_already",
            )
            return [SlotSet("survey_score", None)]
        except DomainError:
            say(dispatcher, language, "survey_none")
            return [SlotSet("survey_score", None)]
        say(dispatcher, language, "survey_thanks")
        return [SlotSet("survey_score", None), SlotSet("survey_id", None)]


class SuggestOffer(ServiceAction, Action):
    action_name = "action_suggest_offer"
    audit_action = "offer.read"

    async def serve(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: AsyncSession,
        customer: CustomerRecord,
        language: str,
    ) -> list[EventType]:
        offer = await offers.best_offer(session, customer.id)
        if offer is None:
            say(dispatcher, language, "offer_none")
            return []
        say(dispatcher, language, "offer", name=offer.name)
        return []


class ValidateComplaintForm(FormValidationAction):
    def __init__(self, services: Services) -> None:
        self.services = services

    def name(self) -> str:
        return "validate_complaint_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """A sender nobody vouches for also names the number the complaint is about."""
        services = self.services
        sender = sender_of(tracker, services.trusted_channels)
        if sender.caller:
            return domain_slots
        async with services.sessions() as session:
            customer = await assistant.verified_customer(
                session,
                channel=sender.channel,
                sender_id=sender.sender_id,
                caller=None,
                trusted_channels=services.trusted_channels,
                region=services.region,
            )
        return domain_slots if customer is not None else [*domain_slots, "phone"]

    async def extract_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The answer to "what is your number?" (asked only of senders nobody vouches for)."""
        if tracker.get_slot(REQUESTED_SLOT) != "phone":
            return {}
        return {"phone": str((tracker.latest_message or {}).get("text") or "").strip() or None}

    async def validate_phone(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(slot_value or "").strip()
        try:
            normalise_phone(text, self.services.region)
        except InvalidInput:
            say(dispatcher, conversation_language(tracker), "need_phone")
            return {"phone": None}
        return {"phone": text}

    async def validate_complaint_category(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(slot_value or "").strip().lower()
        allowed = self.services.policy.categories
        for category, words in CATEGORY_WORDS.items():
            if category in allowed and (text == category or any(w in text for w in words)):
                return {"complaint_category": category}
        say(dispatcher, conversation_language(tracker), "category_unknown")
        return {"complaint_category": None}

    async def validate_complaint_description(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = re.sub(r"\s+", " ", str(slot_value or "")).strip()
        if len(text) < 5:
            say(dispatcher, conversation_language(tracker), "describe_more")
            return {"complaint_description": None}
        return {"complaint_description": text[:4000]}


ACTIONS = (
    IdentifyCustomer,
    LodgeComplaint,
    ComplaintStatus,
    RecordSurvey,
    SuggestOffer,
    ValidateComplaintForm,
)
