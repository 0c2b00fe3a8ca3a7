"""The offer the assistant suggests to a verified customer."""

from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import EventType

from bot.actions.conversation import Turn
from bot.actions.service_action import ServiceAction
from handlers import offers
from storage.customers import CustomerRecord


class SuggestOffer(ServiceAction, Action):
    action_name = "action_suggest_offer"
    audit_action = "offer.read"

    async def serve(self, turn: Turn, customer: CustomerRecord) -> list[EventType]:
        offer = await offers.best_offer(turn.session, customer.id)
        if offer is None:
            turn.say("offer_none")
            return []
        turn.say("offer", name=offer.name)
        return []
