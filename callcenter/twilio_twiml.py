"""What the Twilio webhooks answer, as TwiML: who speaks (<Say voice language>), where the
caller waits (<Enqueue>, a TaskRouter <Task> or a queue per priority band) and which agent is
rung first (<Dial><Client>/<Number>)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from callcenter.settings import SayVoice, Settings
from handlers.routing.route import Decision
from storage.routing.presence import AgentEndpoint
from templates import render

# Twilio's default voice speaks no Chinese: Amazon Polly's Zhiyu does, as Mandarin (cmn-CN),
# the language Twilio lists for it. Joanna is Polly's US English voice.
DEFAULT_VOICES = {
    "zh": SayVoice(voice="Polly.Zhiyu", language="cmn-CN"),
    "en": SayVoice(voice="Polly.Joanna", language="en-US"),
}
# The Say language for a voice given by name only.
SAY_LANGUAGE = {"zh": "cmn-CN", "en": "en-US"}
# Without TaskRouter, Twilio queues are first in, first out: one queue per priority band,
# named `<queue>-<band>`, lets agents take the higher bands first.
BANDS = ((80, "urgent"), (50, "high"), (20, "normal"))
LOWEST_BAND = "low"
SURVEY_URL = "/telephony/twilio/survey"
DIAL_URL = "/telephony/twilio/dial"
MENU_URL = "/telephony/twilio/voice"
STATUS_URL = "/telephony/twilio/status"


def twiml(template: str, **context: Any) -> web.Response:
    return web.Response(text=render(f"twiml/{template}.xml.j2", **context), content_type="application/xml")


def voice_for(settings: Settings, language: str) -> SayVoice:
    """The voice that speaks `language` (Chinese for one we have none for)."""
    configured = settings.twilio_voices.get(language)
    if isinstance(configured, SayVoice):
        return configured
    if configured:
        return SayVoice(voice=configured, language=SAY_LANGUAGE.get(language, "en-US"))
    return DEFAULT_VOICES.get(language) or voice_for(settings, "zh")


def band(priority: int) -> str:
    return next((name for floor, name in BANDS if priority >= floor), LOWEST_BAND)


@dataclass(frozen=True)
class Enqueue:
    queue: str
    priority: int
    workflow_sid: str | None
    task: str | None  # TaskRouter's attributes, JSON
    action: str = SURVEY_URL


def enqueue_for(settings: Settings, decision: Decision) -> Enqueue:
    """Where the caller waits: a TaskRouter task whose attributes carry what the workflow
    orders and filters by, or the queue of the decision's priority band."""
    queue = decision.queue or "general"
    if not settings.twilio_workflow_sid:
        return Enqueue(f"{queue}-{band(decision.priority)}", decision.priority, None, None)
    attributes = {
        "queue": queue,
        "tier": decision.tier,
        "priority": decision.priority,
        "customer_id": decision.customer_id,
        "language": decision.language,
        "skills": list(decision.skills),
        "reason": decision.reason,
    }
    return Enqueue(queue, decision.priority, settings.twilio_workflow_sid, json.dumps(attributes))


@dataclass(frozen=True)
class Dial:
    client: str | None
    number: str | None
    timeout: int
    action: str = DIAL_URL
    # The agent's leg reports here when they pick up (with ParentCallSid: the caller's call).
    answered_url: str = STATUS_URL


def dial_for(settings: Settings, endpoint: AgentEndpoint) -> Dial:
    """Ring the agent's Twilio Client identity, else their phone."""
    client = endpoint.twilio_client
    return Dial(client, None if client else endpoint.phone, settings.twilio_dial_timeout_seconds)
