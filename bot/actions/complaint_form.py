"""The complaint form's answers checked as they come: the category in the customer's own
words, a description long enough to act on, and the number when nobody vouches for one."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import ActionExecutionRejection, FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict

from bot.actions.conversation import Services, conversation_language, say, sender_of, verified_customer
from handlers.errors import InvalidInput
from handlers.identities import normalise_phone

CATEGORY_WORDS = {
    "network": ("network", "signal", "internet", "网络", "信号", "上网"),
    "billing": ("billing", "bill", "charge", "账单", "扣费", "话费", "费用"),
    "service": ("service", "staff", "服务", "态度"),
    "product": ("product", "device", "产品", "套餐"),
    "other": ("other", "其他"),
}
# What a customer says to leave the form, not to answer it.
LEAVING_INTENTS = frozenset({"goodbye"})


def _ask_again(
    dispatcher: CollectingDispatcher, tracker: Tracker, template: str, slot: str
) -> dict[str, Any]:
    """Say what was wrong with the answer and empty its slot, so the form asks again."""
    say(dispatcher, conversation_language(tracker), template)
    return {slot: None}


class ValidateComplaintForm(FormValidationAction):
    def __init__(self, services: Services) -> None:
        self.services = services

    def name(self) -> str:
        return "validate_complaint_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """A goodbye in the middle of the form is no answer: refuse to run, as Rasa's forms
        do, so Rasa lets its rules answer it (the rule that ends the form) and "bye" never
        becomes a complaint's category or description."""
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent in LEAVING_INTENTS:
            raise ActionExecutionRejection(self.name(), f"'{intent}' leaves the complaint form")
        events: list[EventType] = await super().run(dispatcher, tracker, domain)
        return events

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """A sender nobody vouches for also names the number the complaint is about."""
        sender = sender_of(tracker, self.services.trusted_channels)
        if sender.caller:
            return domain_slots
        async with self.services.sessions() as session:
            customer = await verified_customer(self.services, session, sender)
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
            return _ask_again(dispatcher, tracker, "need_phone", "phone")
        return {"phone": text}

    async def validate_complaint_category(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(slot_value or "").strip().lower()
        allowed = self.services.policy.categories
        for category, words in CATEGORY_WORDS.items():
            if category in allowed and (text == category or any(w in text for w in words)):
                return {"complaint_category": category}
        return _ask_again(dispatcher, tracker, "category_unknown", "complaint_category")

    async def validate_complaint_description(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = re.sub(r"\s+", " ", str(slot_value or "")).strip()
        if len(text) < 5:
            return _ask_again(dispatcher, tracker, "describe_more", "complaint_description")
        return {"complaint_description": text[:4000]}
