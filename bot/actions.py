"""Rasa custom actions: the same use cases for any Rasa assistant (web chat, voice bot).

They hold no business logic: they find the customer, call `handlers/`, and answer from
templates in the conversation's language. Served inside the main app at `/rasa/webhook`
(`callcenter/rasa_webhook.py` builds them with the app's database), or standalone with
`python -m rasa_sdk --actions bot.actions`, where each action opens its own engine from
the CONTACTDESK_ settings on first use."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.settings import Settings
from handlers import complaints, customers, offers, surveys
from handlers.errors import Conflict, DomainError, InvalidInput
from storage.customers import CustomerRecord
from templates import language_of, message

SLOTS = (
    "customer_id",
    "customer_name",
    "phone",
    "language",
    "complaint_category",
    "complaint_description",
    "ticket",
    "survey_score",
    "survey_id",
)
CATEGORY_WORDS = {
    "network": ("network", "signal", "internet", "网络", "信号", "上网"),
    "billing": ("billing", "bill", "charge", "账单", "扣费", "话费", "费用"),
    "service": ("service", "staff", "服务", "态度"),
    "product": ("product", "device", "产品", "套餐"),
    "other": ("other", "其他"),
}


class Services:
    """What the actions need: a session factory and the settings. Built by the app, or
    lazily from the environment when rasa-sdk runs the actions standalone."""

    def __init__(self, sessions: Callable[[], AsyncSession] | None = None, settings: Settings | None = None):
        self._sessions = sessions
        self.settings = settings or Settings()

    def session(self) -> AsyncSession:
        if self._sessions is None:
            from storage.db import create_engine, create_sessionmaker

            factory = create_sessionmaker(create_engine(self.settings.database_url))
            self._sessions = factory
        return self._sessions()


def say(dispatcher: CollectingDispatcher, language: str, template: str, **context: Any) -> None:
    dispatcher.utter_message(text=message(f"rasa_{template}", language, **context))


def conversation_language(tracker: Tracker, customer: CustomerRecord | None = None) -> str:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return language_of(
        tracker.get_slot("language") or (customer.language if customer else None) or metadata.get("language")
    )


async def find_customer(session: AsyncSession, tracker: Tracker, region: str) -> CustomerRecord | None:
    """From the conversation's sender through its channel, or from the `phone` slot."""
    slot_id = tracker.get_slot("customer_id")
    if slot_id:
        from storage import customers as repo

        found = await repo.get(session, int(slot_id), details=False)
        if found is not None:
            return found
    channel = tracker.get_latest_input_channel() or ""
    sender = tracker.sender_id or ""
    if channel == "telegram" and sender.isdigit():
        found = await customers.identify(session, "telegram", sender, region=region)
        if found is not None:
            return found
    for raw in (tracker.get_slot("phone"), sender):
        if not raw:
            continue
        try:
            found = await customers.identify(session, "phone", str(raw), region=region)
        except InvalidInput:
            continue
        if found is not None:
            return found
    return None


class ServiceAction:
    """Shared by the customer actions; not an Action itself, so rasa-sdk's discovery of
    Action subclasses registers only the concrete ones."""

    action_name = ""

    def __init__(self, services: Services | None = None) -> None:
        self.services = services or Services()

    def name(self) -> str:
        return self.action_name

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        async with self.services.session() as session:
            customer = await find_customer(session, tracker, self.services.settings.default_region)
            language = conversation_language(tracker, customer)
            if customer is None:
                say(dispatcher, language, "need_phone")
                return [SlotSet("customer_id", None)]
            if customer.blacklisted:
                say(dispatcher, language, "refused")
                return [SlotSet("customer_id", None)]
            events = await self.serve(dispatcher, tracker, session, customer, language)
        return [SlotSet("customer_id", customer.id), *events]

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

    async def serve(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: AsyncSession,
        customer: CustomerRecord,
        language: str,
    ) -> list[EventType]:
        raw_score = str(tracker.get_slot("survey_score") or "")
        survey_id = tracker.get_slot("survey_id")
        if survey_id is None:
            open_surveys = await surveys.list_surveys(
                session, customer_id=customer.id, answered=False, limit=1
            )
            survey_id = open_surveys[0].id if open_surveys else None
        if survey_id is None or not raw_score.isdigit():
            say(dispatcher, language, "survey_none")
            return [SlotSet("survey_score", None)]
        try:
            await surveys.answer(session, int(survey_id), int(raw_score), customer_id=customer.id)
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
    def __init__(self, services: Services | None = None) -> None:
        self.services = services or Services()

    def name(self) -> str:
        return "validate_complaint_form"

    async def validate_complaint_category(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(slot_value or "").strip().lower()
        allowed = self.services.settings.complaint_categories
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
