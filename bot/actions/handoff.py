"""Handing the conversation to a person (`action_handoff_to_agent`): routed as a Telegram
chat is (handlers/inbox/routing.py), for a customer the Telegram channel vouches for, since
an agent's replies go out on Telegram. Other channels are told how to reach a person."""

from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from bot.actions.conversation import Sender, Turn, sender_of
from bot.actions.service_action import ServiceAction
from handlers.inbox import routing
from storage.customers import CustomerRecord


class HandoffToAgent(ServiceAction, Action):
    action_name = "action_handoff_to_agent"
    audit_action = "conversation.handoff"

    async def unverified(self, turn: Turn, sender: Sender) -> list[EventType]:
        turn.say("handoff_unavailable")
        return [SlotSet("customer_id", None)]

    async def serve(self, turn: Turn, customer: CustomerRecord) -> list[EventType]:
        sender = sender_of(turn.tracker, self.services.trusted_channels)
        if sender.channel != "telegram" or not sender.sender_id:
            turn.say("handoff_unavailable")
            return []
        handoff = await routing.ask_for_agent(
            turn.session,
            self.services.events(),
            self.services.inbox,
            customer_id=customer.id,
            channel="telegram",
            address=sender.sender_id,
        )
        if handoff.outcome == "refused":
            turn.say("refused")
        elif handoff.outcome == "assigned":
            turn.say("handoff_assigned", agent=handoff.agent_name)
        else:
            turn.say(f"handoff_{handoff.outcome}", minutes=handoff.wait_minutes)
        return []
