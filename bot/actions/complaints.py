"""Complaints through the assistant: lodging one (for a verified customer, or marked for
agents to verify when only a number was given) and telling a customer where theirs stand."""

from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from bot.actions.conversation import Sender, Turn
from bot.actions.service_action import ServiceAction
from handlers import assistant, complaints
from handlers.errors import InvalidInput
from storage.customers import CustomerRecord


def _form_emptied() -> list[EventType]:
    """The complaint form's answers forgotten, so the next complaint asks afresh."""
    return [SlotSet("complaint_category", None), SlotSet("complaint_description", None)]


class LodgeComplaint(ServiceAction, Action):
    action_name = "action_lodge_complaint"
    audit_action = "complaint.lodge"

    async def unverified(self, turn: Turn, sender: Sender) -> list[EventType]:
        """Anyone may complain; a number nobody vouched for gets a complaint marked for
        agents to verify, and hears back only its ticket."""
        session, tracker = turn.session, turn.tracker
        phone = sender.caller or tracker.get_slot("phone")
        if not phone:
            turn.say("need_phone")
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
                turn.say("need_phone")
                return [SlotSet("customer_id", None), SlotSet("phone", None)]
            turn.say("complaint_incomplete")
            return _form_emptied()
        turn.say("complaint_lodged_unverified", ticket=complaint.ticket)
        return [SlotSet("customer_id", None), SlotSet("ticket", complaint.ticket), *_form_emptied()]

    async def serve(self, turn: Turn, customer: CustomerRecord) -> list[EventType]:
        session, tracker = turn.session, turn.tracker
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
            turn.say("complaint_incomplete")
            return _form_emptied()
        due = complaint.resolve_due_at.date().isoformat() if complaint.resolve_due_at else ""
        turn.say("complaint_lodged", ticket=complaint.ticket, due=due)
        return [SlotSet("ticket", complaint.ticket), *_form_emptied()]


class ComplaintStatus(ServiceAction, Action):
    action_name = "action_complaint_status"
    audit_action = "complaint.list"

    async def serve(self, turn: Turn, customer: CustomerRecord) -> list[EventType]:
        found = await complaints.list_for_customer(turn.session, customer.id)
        if not found:
            turn.say("status_none")
            return []
        for c in found[:5]:
            due = c.resolve_due_at.date().isoformat() if c.resolve_due_at else ""
            turn.say("status_item", ticket=c.ticket, state=c.state, due=due)
        return [SlotSet("ticket", found[0].ticket)]
