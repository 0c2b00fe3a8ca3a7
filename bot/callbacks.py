"""The data our inline buttons carry, one aiogram `CallbackData` factory per button kind.

The wire format (`cat:network`, `sat:12:yes`, `csat:7:5`, …) is the one buttons already sent
to customers carry, so a button pressed weeks later still works. Button data comes back from
the client, which may send anything: the fields are bounded here, and data that does not
unpack matches no handler."""

from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from handlers.inputs import MAX_ID

Answer = Literal["yes", "no"]


class Category(CallbackData, prefix="cat"):
    """A complaint category chosen in the complaint flow."""

    name: str


class Skip(CallbackData, prefix="skip"):
    """No photo for the complaint."""


class Confirm(CallbackData, prefix="confirm"):
    """Lodge the complaint (yes) or drop it (no)."""

    answer: Answer


class Satisfied(CallbackData, prefix="sat"):
    """The customer's answer to "are you satisfied with the resolution?"."""

    complaint_id: int = Field(ge=1, le=MAX_ID)
    answer: Answer


class CsatScore(CallbackData, prefix="csat"):
    survey_id: int = Field(ge=1, le=MAX_ID)
    score: int = Field(ge=0, le=10)


class NpsScore(CallbackData, prefix="nps"):
    survey_id: int = Field(ge=1, le=MAX_ID)
    score: int = Field(ge=0, le=10)


# A survey's buttons by its kind (the outbox message kind names it `<scale>_survey`).
SCORES: dict[str, type[CsatScore] | type[NpsScore]] = {"csat": CsatScore, "nps": NpsScore}


class QuestionnaireStart(CallbackData, prefix="qstart"):
    """The "Start" button under a questionnaire's invitation: ask its first unanswered question."""

    survey_id: int = Field(ge=1, le=MAX_ID)


# A skipped question's value in `QuestionAnswer`.
SKIPPED = -1


class QuestionAnswer(CallbackData, prefix="qa"):
    """An answer to one question of a questionnaire: the score, the option's number from 1,
    or SKIPPED. The bounds are the wire's; each question's own range is checked on arrival."""

    survey_id: int = Field(ge=1, le=MAX_ID)
    question_id: int = Field(ge=1, le=MAX_ID)
    value: int = Field(ge=SKIPPED, le=99)


class OfferInterest(CallbackData, prefix="offer"):
    """ "Interested" under a cross-sell message: a conversion."""

    target_id: int = Field(ge=1, le=MAX_ID)
    answer: Literal["yes"] = "yes"


Choice = Literal["person", "menu", "callback", "complaint"]


class Handoff(CallbackData, prefix="handoff"):
    """Talk to a person, see the menu, or, while waiting for an agent, a callback or a
    complaint instead (bot/routers/inbox.py)."""

    choice: Choice
