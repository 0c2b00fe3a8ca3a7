"""The words a console page shows for the codes we store: a state, a category, a tier is
read as a word in the agent's language, never as its code. The labels are English source
text, translated through the console catalogue where they are shown (the `word` filter)."""

from __future__ import annotations

from templates.i18n import N_

WORDS: dict[str, dict[str, str]] = {
    "role": {"agent": N_("Agent"), "supervisor": N_("Supervisor"), "admin": N_("Administrator")},
    "availability": {
        "available": N_("Available"),
        "busy": N_("On a call"),
        "wrap_up": N_("Wrap-up"),
        "offline": N_("Offline"),
    },
    "tier": {"regular": N_("Regular"), "preferred": N_("Preferred"), "vip": N_("VIP")},
    "state": {
        "received": N_("Received"),
        "acknowledged": N_("Acknowledged"),
        "investigating": N_("Investigating"),
        "resolved": N_("Resolved"),
        "closed": N_("Closed"),
        "reopened": N_("Reopened"),
    },
    # storage/complaint_ages.py's buckets, keyed by their labels
    "age": {
        "< 1 day": N_("< 1 day"),
        "1–3 days": N_("1–3 days"),
        "3–7 days": N_("3–7 days"),
        "7–15 days": N_("7–15 days"),
        "> 15 days": N_("> 15 days"),
    },
    # how a call offered to a queue fared (the dashboard's chart of calls per quarter hour)
    "call_outcome": {
        "answered": N_("answered"),
        "abandoned": N_("abandoned"),
        "waiting": N_("still waiting"),
    },
    "severity": {"standard": N_("Standard"), "urgent": N_("Urgent")},
    # storage/models/surveys.py Alert.kind
    "alert": {
        "deadline_breach": N_("Deadline missed"),
        "csat": N_("CSAT below target"),
        "nps": N_("NPS below target"),
    },
    "category": {
        "billing": N_("Billing"),
        "network": N_("Network"),
        "service": N_("Service"),
        "product": N_("Product"),
        "other": N_("Other"),
    },
    "channel": {
        "phone": N_("Phone"),
        "telegram": N_("Telegram"),
        "console": N_("Console"),
        "rasa": N_("Assistant"),
        "api": N_("API"),
    },
    # Where a complaint is worked on (handlers/complaints/policy.py DEPARTMENTS).
    "department": {
        "network operations": N_("Network operations"),
        "billing": N_("Billing department"),
        "customer service": N_("Customer service"),
        "product management": N_("Product management"),
    },
    # What happened to a complaint, in its timeline, and who did it when no user did.
    "event": {
        "created": N_("Lodged"),
        "transition": N_("Moved"),
        "escalated": N_("Escalated"),
        "note": N_("Note"),
        "notification": N_("Message to the customer"),
        "assigned": N_("Assigned"),
    },
    "actor": {"customer": N_("Customer"), "system": N_("System"), "user": N_("Staff")},
    # The contact log stores in/out (storage/models/routing.py).
    "direction": {
        "inbound": N_("Inbound"),
        "outbound": N_("Outbound"),
        "in": N_("Inbound"),
        "out": N_("Outbound"),
    },
    "queue": {
        "general": N_("General"),
        "vip": N_("VIP"),
        "complaints": N_("Complaints"),
        "english": N_("English line"),
        "billing": N_("Billing"),
        "overflow": N_("Overflow"),
    },
    # Why routing chose the queue: the rule's name (handlers/routing/rules.toml) or a fallback.
    "route": {
        "blacklisted": N_("Blacklisted"),
        "vip": N_("VIP customer"),
        "open-complaint": N_("Open complaint"),
        "repeat-contact": N_("Repeat contact"),
        "menu-billing": N_("Billing menu"),
        "menu-network": N_("Network menu"),
        "menu-english": N_("English menu"),
        "english-speaker": N_("English speaker"),
        "preferred": N_("Preferred customer"),
        "unknown-caller": N_("Unknown caller"),
        "default": N_("Default route"),
        "fallback-timeout": N_("Fallback: routing too slow"),
        "fallback-database": N_("Fallback: database unavailable"),
        "outbound": N_("Outbound call"),
    },
    "language": {"zh": N_("Chinese"), "en": N_("English")},
    # Routing skills and the demo's queues (a queue's calls go to agents with its skill).
    "skill": {
        "general": N_("General"),
        "vip": N_("VIP"),
        "complaints": N_("Complaints"),
        "billing": N_("Billing"),
        "network": N_("Network"),
        "english": N_("English line"),
        "overflow": N_("Overflow"),
    },
    "survey": {"csat": N_("CSAT"), "nps": N_("NPS"), "quest": N_("Questionnaire")},
    # A questionnaire's questions and where their answers came from (handlers/questionnaires.py).
    "question_kind": {
        "scale5": N_("1–5 scale"),
        "scale10": N_("0–10 scale"),
        "choice": N_("Single choice"),
        "text": N_("Free text"),
    },
    "answer_channel": {
        "telegram": N_("Telegram"),
        "ivr": N_("Keypad (IVR)"),
        "agent": N_("Agent on the phone"),
        "api": N_("API"),
    },
    "segment": {"tier": N_("Tier"), "region": N_("Region"), "channel": N_("Channel")},
    "survey_trigger": {
        "complaint": N_("Complaint"),
        "call": N_("Call"),
        "campaign": N_("Campaign"),
        "periodic": N_("Periodic"),
    },
    # Why a campaign message was not sent (storage/campaigns/dispatch.py).
    "skip_reason": {
        "blacklisted": N_("Blacklisted"),
        "opted_out": N_("Opted out"),
        "merged": N_("Merged into another customer"),
        "open_complaint": N_("Open complaint"),
        "frequency_cap": N_("Contacted too recently"),
        "customer_gone": N_("Customer removed"),
        "refused": N_("Refused"),
    },
    "campaign_kind": {
        "satisfaction": N_("Satisfaction survey"),
        "follow_up": N_("Follow-up"),
        "cross_sell": N_("Cross-sell"),
        "care": N_("Care greetings"),
    },
    # What a care campaign greets (handlers/campaigns/care.py).
    "care_occasion": {
        "birthday": N_("Birthday"),
        "anniversary": N_("Customer anniversary"),
        "holiday": N_("Holidays"),
    },
    "campaign_state": {
        "draft": N_("Draft"),
        "scheduled": N_("Scheduled"),
        "running": N_("Running"),
        "paused": N_("Paused"),
        "finished": N_("Finished"),
        "cancelled": N_("Cancelled"),
    },
    "campaign_move": {
        "schedule": N_("Schedule"),
        "pause": N_("Pause"),
        "resume": N_("Resume"),
        "cancel": N_("Cancel"),
    },
    "campaign_channel": {
        "telegram": N_("Telegram"),
        "best": N_("Best available"),
        "dialer": N_("Dialer list"),
    },
    # A campaign's allowed days (0 is Monday, as Python's weekday()).
    "weekday": {
        "0": N_("Mon"),
        "1": N_("Tue"),
        "2": N_("Wed"),
        "3": N_("Thu"),
        "4": N_("Fri"),
        "5": N_("Sat"),
        "6": N_("Sun"),
    },
    "conversation_state": {"waiting": N_("Waiting"), "open": N_("Open"), "resolved": N_("Resolved")},
    "delivery": {
        "pending": N_("Pending"),
        "claimed": N_("Claimed"),
        "sending": N_("Sending"),
        "sent": N_("Sent"),
        "answered": N_("Answered"),
        "skipped": N_("Skipped"),
        "failed": N_("Failed"),
        "cancelled": N_("Cancelled"),
        "dialing": N_("Dialing"),
        "no_answer": N_("No answer"),
        "busy": N_("Busy"),
        "refused": N_("Refused"),
        "wrong_number": N_("Wrong number"),
        "blocked": N_("Blocked the bot"),
        "uncertain": N_("Uncertain"),
    },
}


def word_for(kind: str, code: object) -> str:
    """The English label of a code (the code itself when we have no word for it yet, so a
    new code still shows rather than failing the page)."""
    text = "" if code is None else str(code)
    return WORDS.get(kind, {}).get(text, text)
