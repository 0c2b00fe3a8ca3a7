"""Rasa custom actions: the same use cases for any Rasa assistant (web chat, voice bot).

They hold no business logic: they find out who the sender really is, call `handlers/`, and
answer from templates in the conversation's language. A customer's record opens only to a
sender the channel vouches for (`handlers/assistant.py`); a number or id typed into the
conversation never does. Built with explicit `Services` by `callcenter/rasa_webhook.py`,
which serves them inside the main app and alone (`contactdesk rasa-actions`).

One module per concept: `conversation` (who is asking, in which language, how to answer),
`service_action` (verify, refuse, audit: what every customer action does first), then one
module per family of actions. `ACTIONS` is the registry: rasa-sdk's executor registers
exactly these, so a new action is added here."""

from bot.actions.complaint_form import ValidateComplaintForm
from bot.actions.complaints import ComplaintStatus, LodgeComplaint
from bot.actions.conversation import Services
from bot.actions.customer import IdentifyCustomer
from bot.actions.handoff import HandoffToAgent
from bot.actions.offers import SuggestOffer
from bot.actions.surveys import RecordSurvey

ACTIONS = (
    IdentifyCustomer,
    LodgeComplaint,
    ComplaintStatus,
    RecordSurvey,
    SuggestOffer,
    HandoffToAgent,
    ValidateComplaintForm,
)

__all__ = ["ACTIONS", "Services", "ValidateComplaintForm"]
