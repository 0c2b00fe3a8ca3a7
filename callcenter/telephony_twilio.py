"""Twilio voice webhooks: route the call (TwiML `<Enqueue>`, `<Reject/>`, an IVR `<Gather>`),
record its progress, and ask the post-call CSAT question on the same call."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from twilio.request_validator import RequestValidator

from callcenter import calls
from callcenter.keys import OPENAPI, SESSIONS, SETTINGS
from callcenter.openapi import ROOT, TWILIO_SECURITY, error_responses, id_schema, query
from callcenter.web_errors import json_error
from handlers import surveys
from handlers.errors import DomainError
from handlers.routing import InboundCall
from storage import customers as customers_repo
from storage import routing as routing_repo
from templates import message, render

log = logging.getLogger(__name__)

SAY_LANGUAGE = {"zh": "zh-CN", "en": "en-US"}
ENDED = {"completed", "busy", "no-answer", "failed", "canceled"}
Handler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]


def twiml(template: str, **context: object) -> web.Response:
    return web.Response(text=render(f"twiml/{template}.xml.j2", **context), content_type="application/xml")


def _say(language: str) -> str:
    return SAY_LANGUAGE.get(language, "zh-CN")


def signed(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Check X-Twilio-Signature (whenever an auth token is configured) against the public
    URL Twilio called, then hand the form parameters to the handler."""

    async def check(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        params = {key: str(form[key]) for key in form}
        settings = request.app[SETTINGS]
        if settings.twilio_auth_token:
            base = (settings.public_url or f"{request.scheme}://{request.host}").rstrip("/")
            signature = request.headers.get("X-Twilio-Signature", "")
            if not RequestValidator(settings.twilio_auth_token).validate(
                base + request.path_qs, params, signature
            ):
                log.warning("rejected a Twilio webhook with a bad signature on %s", request.path)
                return json_error(403, "bad-signature", "X-Twilio-Signature does not match")
        return await handler(request, params)

    return check


async def voice(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
    call_id = params.get("CallSid", "")
    if not call_id:
        return json_error(400, "invalid-input", "CallSid is required", field="CallSid")
    call = InboundCall(
        call_id=call_id,
        caller=params.get("From"),
        dialled=params.get("To"),
        ivr_digits=params.get("Digits") or None,
    )
    decision = await calls.decide(request.app, call)
    language = decision.language
    context = {
        "say_language": _say(language),
        "queue": decision.queue or "general",
        "survey_url": "/telephony/twilio/survey",
        "menu_url": "/telephony/twilio/voice",
    }
    if decision.action == "reject":
        return twiml("reject")
    if decision.action == "callback":
        return twiml("callback", closed=message("ivr_closed", language), **context)
    if decision.ivr:
        return twiml("menu", menu=message("ivr_menu", language), **context)
    return twiml(
        "enqueue", welcome=message("ivr_welcome", language, name=decision.customer_name or ""), **context
    )


async def status(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
    call_id = params.get("CallSid", "")
    call_status = params.get("CallStatus", "")
    if not call_id or not call_status:
        return json_error(400, "invalid-input", "CallSid and CallStatus are required")
    if call_status in ENDED:
        duration = params.get("CallDuration", "")
        await calls.ended(
            request.app, call_id, cause=call_status, duration=int(duration) if duration.isdigit() else None
        )
    elif call_status == "in-progress":
        await calls.answered(request.app, call_id, params.get("AgentLogin") or None)
    return twiml("empty")


async def after_queue(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
    """The caller left the queue: after a conversation with an agent, ask for a CSAT score."""
    call_id = params.get("CallSid", "")
    async with request.app[SESSIONS]() as session:
        contact = await routing_repo.get_contact(session, "phone", call_id)
        if contact is None or contact.customer_id is None or params.get("QueueResult") != "bridged":
            return twiml("empty")
        facts_language = "zh"
        customer = await customers_repo.get(session, contact.customer_id, details=False)
        if customer is not None and customer.language:
            facts_language = customer.language
        survey = await surveys.queue_survey(
            session,
            customer_id=contact.customer_id,
            kind="csat",
            trigger="call",
            channel="phone",
            contact_id=contact.id,
            agent_id=contact.agent_id,
        )
        await session.commit()
    return twiml(
        "survey",
        say_language=_say(facts_language),
        question=message("ivr_survey", facts_language),
        goodbye=message("ivr_goodbye", facts_language),
        answer_url=f"/telephony/twilio/survey/answer?survey={survey.id}&lang={facts_language}",
    )


async def survey_answer(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
    language = request.query.get("lang", "zh")
    survey_id = request.query.get("survey", "")
    digits = params.get("Digits", "")
    if survey_id.isdigit() and digits.isdigit():
        async with request.app[SESSIONS]() as session:
            try:
                await surveys.answer(session, int(survey_id), int(digits))
            except DomainError as error:
                # An out-of-range key or a repeated webhook: thank the caller all the same.
                log.info("IVR survey %s answer not recorded: %s", survey_id, error.error_id)
    return twiml("goodbye", say_language=_say(language), goodbye=message("ivr_goodbye", language))


_PARAMETERS_READ = ("CallSid", "From", "To", "Digits", "CallStatus", "CallDuration", "QueueResult")
_FORM = {
    "type": "object",
    "description": "Twilio's webhook parameters (those read here; Twilio sends more)",
    "properties": {name: {"type": "string"} for name in (*_PARAMETERS_READ, "AgentLogin")},
}
_TWIML: dict[str, Any] = {
    "200": {"description": "TwiML", "content": {"application/xml": {"schema": {"type": "string"}}}}
}


def _webhook(summary: str, *parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "servers": ROOT,
            "security": TWILIO_SECURITY,
            "parameters": list(parameters),
            "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": _FORM}}},
            # 400: a malformed form; 403: a missing or wrong signature, or no auth token set.
            "responses": {**_TWIML, **error_responses(400, 403)},
        }
    }


PATHS = {
    "/telephony/twilio/voice": _webhook("Twilio voice webhook (also the IVR <Gather> action)"),
    "/telephony/twilio/status": _webhook("Twilio call status callback"),
    "/telephony/twilio/survey": _webhook("Twilio <Enqueue> action: post-call CSAT question"),
    "/telephony/twilio/survey/answer": _webhook(
        "Twilio <Gather> action: the CSAT digit",
        query("survey", id_schema()),
        query("lang", {"type": "string", "enum": list(SAY_LANGUAGE)}),
    ),
}


def setup(app: web.Application) -> None:
    app.router.add_post("/telephony/twilio/voice", signed(voice))
    app.router.add_post("/telephony/twilio/status", signed(status))
    app.router.add_post("/telephony/twilio/survey", signed(after_queue))
    app.router.add_post("/telephony/twilio/survey/answer", signed(survey_answer))
    app[OPENAPI].add(PATHS)
