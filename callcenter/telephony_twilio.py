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
from callcenter.params import query_int
from callcenter.serialize import read_form
from callcenter.web_errors import json_error
from handlers import surveys
from handlers.errors import DomainError
from handlers.inputs import whole_number
from handlers.routing import post_call_survey
from handlers.routing.rules import InboundCall
from templates import message, render

log = logging.getLogger(__name__)

SAY_LANGUAGE = {"zh": "zh-CN", "en": "en-US"}
ENDED = {"completed", "busy", "no-answer", "failed", "canceled"}
MAX_CALL_SID = 64
MAX_DURATION = 2**31 - 1  # seconds; the column is a 32-bit integer
Handler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]


def twiml(template: str, **context: Any) -> web.Response:
    return web.Response(text=render(f"twiml/{template}.xml.j2", **context), content_type="application/xml")


def _say(language: str) -> str:
    return SAY_LANGUAGE.get(language, "zh-CN")


def signed(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Refuse everything unless an auth token is configured (a spoofed webhook would read
    customer names and move agents); then check X-Twilio-Signature against the public URL
    Twilio called before the handler sees the form."""

    async def check(request: web.Request) -> web.StreamResponse:
        token = request.app[SETTINGS].twilio_auth_token
        if not token:
            return json_error(
                403, "twilio-disabled", "set CONTACTDESK_TWILIO_AUTH_TOKEN to accept Twilio webhooks"
            )
        form = await read_form(request)
        params = {key: form[key] for key in form}
        if not _valid_signature(request, token, params):
            log.warning("rejected a Twilio webhook with a bad signature on %s", request.path)
            return json_error(403, "bad-signature", "X-Twilio-Signature does not match")
        return await handler(request, params)

    return check


def _valid_signature(request: web.Request, token: str, params: dict[str, str]) -> bool:
    public_url = request.app[SETTINGS].public_url
    base = (public_url or f"{request.scheme}://{request.host}").rstrip("/")
    try:
        return bool(
            # The URL as Twilio requested it, percent-encoding included: that is what it signed.
            RequestValidator(token).validate(
                base + request.raw_path, params, request.headers.get("X-Twilio-Signature", "")
            )
        )
    except ValueError:  # a Host header with a port that is not a number, text it cannot encode
        return False


def _call_sid(params: dict[str, str]) -> str | None:
    """Twilio's CallSid is 34 characters; anything far longer is not Twilio."""
    call_id = params.get("CallSid", "")
    return call_id if 0 < len(call_id) <= MAX_CALL_SID else None


async def voice(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
    call_id = _call_sid(params)
    if call_id is None:
        return json_error(
            400, "invalid-input", f"CallSid is required, at most {MAX_CALL_SID} characters", field="CallSid"
        )
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
    call_id = _call_sid(params)
    call_status = params.get("CallStatus", "")
    if call_id is None or not call_status:
        return json_error(400, "invalid-input", "CallSid and CallStatus are required")
    if call_status in ENDED:
        duration = whole_number(params.get("CallDuration"), high=MAX_DURATION)
        await calls.ended(request.app, call_id, cause=call_status, duration=duration)
    elif call_status == "in-progress":
        await calls.answered(request.app, call_id, params.get("AgentLogin") or None)
    return twiml("empty")


async def after_queue(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
    """The caller left the queue: ask for a CSAT score when the use case says so."""
    call_id = _call_sid(params)
    if call_id is None:
        return json_error(400, "invalid-input", "CallSid is required", field="CallSid")
    async with request.app[SESSIONS]() as session:
        survey = await post_call_survey.after_queue(
            session, call_id, bridged=params.get("QueueResult") == "bridged"
        )
    if survey is None:
        return twiml("empty")
    language = survey.language
    return twiml(
        "survey",
        say_language=_say(language),
        question=message("ivr_survey", language),
        goodbye=message("ivr_goodbye", language),
        answer_url=f"/telephony/twilio/survey/answer?survey={survey.survey_id}&lang={language}",
    )


async def survey_answer(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
    language = request.query.get("lang", "zh")
    survey_id = query_int(request, "survey", low=1)
    digit = whole_number(params.get("Digits"), high=9)
    if survey_id is not None and digit is not None:
        async with request.app[SESSIONS]() as session:
            try:
                await surveys.answer(session, survey_id, digit)
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
_ERRORS = error_responses(400, 403)
_ERRORS["403"]["description"] = "bad or missing signature, or CONTACTDESK_TWILIO_AUTH_TOKEN unset"


def _webhook(summary: str, *parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "servers": ROOT,
            "security": TWILIO_SECURITY,
            "parameters": list(parameters),
            "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": _FORM}}},
            # 400: a malformed form; 403: a missing or wrong signature, or no auth token set.
            "responses": {**_TWIML, **_ERRORS},
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
    if not app[SETTINGS].twilio_auth_token:
        log.warning("no CONTACTDESK_TWILIO_AUTH_TOKEN: the Twilio webhooks refuse every request")
    app.router.add_post("/telephony/twilio/voice", signed(voice))
    app.router.add_post("/telephony/twilio/status", signed(status))
    app.router.add_post("/telephony/twilio/survey", signed(after_queue))
    app.router.add_post("/telephony/twilio/survey/answer", signed(survey_answer))
    app[OPENAPI].add(PATHS)
