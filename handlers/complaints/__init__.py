"""Complaints: lodged from any channel, moved through the allowed states against deadlines,
escalated when a deadline passes, closed when the customer is satisfied.

One concept per module; the names callers use are re-exported here:

- policy: the operator's `ComplaintPolicy`, severities, channels, departments
- lodging: `checked_description`, `record`, `lodge`
- lifecycle: `STATES`, `TRANSITIONS`, `allowed_moves`, `moves_for`, `transition`
- satisfaction: `customer_satisfied`
- queries: `get`, `list_for_customer`, `search`, `read`, `status`, `escalations_queue`
- escalation: `escalate_due`
- desk: `assign`, `add_note` (work on a complaint that does not move its state)
- workbench: the console's list and case page (imported as a module)
- approval: `DECISIONS`, `decide` (a supervisor on a compensation above the limit)
- notifications: what the customer is told after each step
"""

from handlers.complaints.approval import DECISIONS, decide
from handlers.complaints.desk import add_note, assign
from handlers.complaints.escalation import Escalation, escalate_due
from handlers.complaints.lifecycle import STATES, TRANSITIONS, allowed_moves, moves_for, transition
from handlers.complaints.lodging import checked_description, lodge, record
from handlers.complaints.policy import CHANNELS, DEPARTMENTS, SEVERITIES, ComplaintPolicy
from handlers.complaints.queries import escalations_queue, get, list_for_customer, read, search, status
from handlers.complaints.satisfaction import CUSTOMER_TRANSITIONS, customer_satisfied

__all__ = [
    "CHANNELS",
    "CUSTOMER_TRANSITIONS",
    "DECISIONS",
    "DEPARTMENTS",
    "SEVERITIES",
    "STATES",
    "TRANSITIONS",
    "ComplaintPolicy",
    "Escalation",
    "add_note",
    "allowed_moves",
    "assign",
    "checked_description",
    "customer_satisfied",
    "decide",
    "escalate_due",
    "escalations_queue",
    "get",
    "list_for_customer",
    "lodge",
    "moves_for",
    "read",
    "record",
    "search",
    "status",
    "transition",
]
