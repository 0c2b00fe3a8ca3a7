"""What every customer action does before it serves: find out who is asking, answer the
unverified or refuse the blacklisted, and audit the access to the record."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions.conversation import (
    Sender,
    Services,
    Turn,
    conversation_language,
    sender_of,
    verified_customer,
)
from handlers import assistant
from storage.customers import CustomerRecord


class ServiceAction:
    """Shared by the customer actions (not an Action itself): subclasses name themselves,
    say what the audit trail calls their access, and `serve` the verified customer."""

    action_name = ""
    audit_action = ""  # what the audit trail calls this read of (or act on) the record

    def __init__(self, services: Services) -> None:
        self.services = services

    def name(self) -> str:
        return self.action_name

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        sender = sender_of(tracker, self.services.trusted_channels)
        async with self.services.sessions() as session:
            customer = await verified_customer(self.services, session, sender)
            if customer is None:
                turn = Turn(dispatcher, tracker, session, conversation_language(tracker))
                return await self.unverified(turn, sender)
            turn = Turn(dispatcher, tracker, session, conversation_language(tracker, customer))
            if customer.blacklisted:
                turn.say("refused")
                return [SlotSet("customer_id", None)]
            await assistant.record_access(
                session,
                sender.actor,
                action=self.audit_action,
                customer_id=customer.id,
                details={"rasa_action": self.action_name},
            )
            events = await self.serve(turn, customer)
        return [SlotSet("customer_id", customer.id), *events]

    async def unverified(self, turn: Turn, sender: Sender) -> list[EventType]:
        """Nobody vouches for the sender: nothing of any record, politely."""
        turn.say("unverified")
        return [SlotSet("customer_id", None), SlotSet("customer_name", None)]

    async def serve(self, turn: Turn, customer: CustomerRecord) -> list[EventType]:
        raise NotImplementedError
