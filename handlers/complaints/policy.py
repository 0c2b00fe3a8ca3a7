"""What a complaint may be and whose desk it lands on: the operator's `ComplaintPolicy`
(categories, working calendar, deadlines), the severities, the channels, the departments."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from handlers.calendar import DeadlineRules, WorkCalendar
from handlers.defaults import COMPLAINT_CATEGORIES

SEVERITIES = ("standard", "urgent")
CHANNELS = ("telegram", "phone", "rasa", "api", "console")

DEPARTMENTS = {
    "network": "network operations",
    "billing": "billing",
    "service": "customer service",
    "product": "product management",
    "other": "customer service",
}


@dataclass(frozen=True)
class ComplaintPolicy:
    """Built once, in the composition root, and passed to every use case that lodges or
    moves a complaint, so deadlines agree whichever door a complaint came in."""

    categories: tuple[str, ...] = COMPLAINT_CATEGORIES
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    deadlines: DeadlineRules = field(default_factory=DeadlineRules)
    csat_after_close: bool = True
    # The operator's rule: results are approved by management. An agent's resolution that
    # offers more than this waits for a supervisor before the customer is told.
    compensation_approval_above: Decimal = Decimal("200")

    def needs_approval(self, amount: Decimal | None) -> bool:
        return amount is not None and amount > self.compensation_approval_above


def department_for(category: str) -> str:
    return DEPARTMENTS.get(category, "customer service")
