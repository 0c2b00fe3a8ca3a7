"""Telling the assistant who the verified customer is."""

from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from bot.actions.conversation import Turn
from bot.actions.service_action import ServiceAction
from storage.customers import CustomerRecord


class IdentifyCustomer(ServiceAction, Action):
    action_name = "action_identify_customer"
    audit_action = "customer.read"

    async def serve(self, turn: Turn, customer: CustomerRecord) -> list[EventType]:
        turn.say("identified", name=customer.name)
        return [SlotSet("customer_name", customer.name), SlotSet("language", turn.language)]
