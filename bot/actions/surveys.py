"""A verified customer's answer to a satisfaction survey, given in the conversation."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from bot.actions.conversation import Turn
from bot.actions.service_action import ServiceAction
from handlers import surveys
from handlers.errors import Conflict, DomainError
from storage.customers import CustomerRecord

# The largest id a database integer column holds: anything beyond is no survey of ours.
MAX_ID = 2**63 - 1


def _survey_id(raw: Any) -> int | None:
    """The `survey_id` slot (Rasa keeps it as a float) as an id, or None for anything else."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str) and raw.isascii() and raw.isdigit():
        raw = int(raw)
    return raw if isinstance(raw, int) and 0 < raw <= MAX_ID else None


class RecordSurvey(ServiceAction, Action):
    action_name = "action_record_survey"
    audit_action = "survey.answer"

    async def serve(self, turn: Turn, customer: CustomerRecord) -> list[EventType]:
        session, tracker = turn.session, turn.tracker
        raw_score = str(tracker.get_slot("survey_score") or "").strip()
        survey_id = _survey_id(tracker.get_slot("survey_id"))
        if survey_id is None:
            open_surveys = await surveys.list_surveys(
                session, customer_id=customer.id, answered=False, limit=1
            )
            survey_id = open_surveys[0].id if open_surveys else None
        if survey_id is None or not (raw_score.isascii() and raw_score.isdigit() and len(raw_score) <= 2):
            turn.say("survey_none")
            return [SlotSet("survey_score", None)]
        try:
            await surveys.answer(session, survey_id, int(raw_score), customer_id=customer.id)
        except Conflict as error:
            turn.say("survey_expired" if error.error_id == "survey-expired" else "survey_already")
            return [SlotSet("survey_score", None)]
        except DomainError:
            turn.say("survey_none")
            return [SlotSet("survey_score", None)]
        turn.say("survey_thanks")
        return [SlotSet("survey_score", None), SlotSet("survey_id", None)]
