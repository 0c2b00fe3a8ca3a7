"""Twilio voice webhooks: route the call (TwiML `<Enqueue>`, `<Reject/>`, an IVR `<Gather>`),
record its progress, ask the post-call CSAT question on the same call, and ask a phone
questionnaire's questions by keypad."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from multidict import MultiMapping
from twilio.request_validator import RequestValidator

from callcenter import calls
from callcenter.keys import OPENAPI, SESSIONS, SETTINGS
from callcenter.openapi import ROOT, TWILIO_SECURITY, error_responses, id_schema, query
from callcenter.params import query_int
from callcenter.serialize import read_form
from callcenter.twilio_twiml import (
    MENU_URL,
    dial_for,
    enqueue_for,
    twiml,
    voice_for,
)
from callcenter.web_errors import json_error
from handlers import questionnaires, surveys
from handlers.errors import DomainError, InvalidInput
from handlers.inputs import whole_number
from handlers.questionnaires import Given
from handlers.routing import post_call_survey
from handlers.routing.rules import InboundCall
from templates import LANGUAGES, message

log = logging.getLogger(__name__)

ENDED = {"completed", "busy", "no-answer", "failed", "canceled"}
# <Dial>'s outcomes: the agent talked with the caller, or never picked up (then the queue).
DIAL_ANSWERED = {"completed", "answered"}
DIAL_MISSED = {"no-answer", "busy", "failed"}
# The URL a call placed for a phone questionnaire points Twilio at (`?survey=&lang=`).
QUESTIONNAIRE_URL = "/telephony/twilio/questionnaire"
MAX_CALL_SID = 64
MAX_DURATION = 2**31 - 1  # seconds; the column is a 32-bit integer
Form = MultiMapping[str]
Handler = Callable[[web.Request, Form], Awaitable[web.StreamResponse]]


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
        if not _valid_signature(request, token, form):
            log.warning("rejected a Twilio webhook with a bad signature on %s", request.path)
            return json_error(403, "bad-signature", "X-Twilio-Signature does not match")
        return await handler(request, form)

    return check


def _valid_signature(request: web.Request, token: str, form: Form) -> bool:
    """Twilio signs every value of a repeated key (Digits=5678&Digits=1234): the validator
    reads them all from the multi-valued form (its get_values uses getall)."""
    public_url = request.app[SETTINGS].public_url
    base = (public_url or f"{request.scheme}://{request.host}").rstrip("/")
    try:
        return bool(
            # The URL as Twilio requested it, percent-encoding included: that is what it signed.
            RequestValidator(token).validate(
                base + request.raw_path, form, request.headers.get("X-Twilio-Signature", "")
            )
        )
    except ValueError:  # a Host header with a port that is not a number, text it cannot encode
        return False


def _call_sid(params: Form) -> str | None:
    """Twilio's CallSid is 34 characters; anything far longer is not Twilio."""
    call_id = params.get("CallSid", "")
    return call_id if 0 < len(call_id) <= MAX_CALL_SID else None


def _no_call_sid() -> web.Response:
    return json_error(
        400, "invalid-input", f"CallSid is required, at most {MAX_CALL_SID} characters", field="CallSid"
    )


async def voice(request: web.Request, params: Form) -> web.StreamResponse:
    call_id = _call_sid(params)
    if call_id is None:
        return _no_call_sid()
    call = InboundCall(
        call_id=call_id,
        caller=params.get("From"),
        dialled=params.get("To"),
        ivr_digits=params.get("Digits") or None,
    )
    settings = request.app[SETTINGS]
    decision = await calls.decide(request.app, call)
    language = decision.language
    say = voice_for(settings, language)
    if decision.action == "reject":
        return twiml("reject")
    if decision.action == "callback":
        return twiml("callback", voice=say, closed=message("ivr_closed", language))
    queue = enqueue_for(settings, decision)
    if decision.ivr:
        return twiml("menu", voice=say, menu=message("ivr_menu", language), menu_url=MENU_URL, queue=queue)
    welcome = message("ivr_welcome", language, name=decision.customer_name or "")
    if decision.endpoint is not None:
        return twiml("dial", voice=say, welcome=welcome, dial=dial_for(settings, decision.endpoint))
    return twiml("enqueue", voice=say, welcome=welcome, queue=queue)


async def status(request: web.Request, params: Form) -> web.StreamResponse:
    call_id = _call_sid(params)
    call_status = params.get("CallStatus", "")
    if call_id is None or not call_status:
        return json_error(400, "invalid-input", "CallSid and CallStatus are required")
    parent = params.get("ParentCallSid", "")
    if parent:
        # The leg <Dial> placed to the agent: their picking up answers the caller's call; the
        # leg's end is not the caller's (that call's own callback reports it).
        if call_status == "in-progress" and 0 < len(parent) <= MAX_CALL_SID:
            await calls.answered(request.app, parent, None)
        return twiml("empty")
    if call_status in ENDED:
        duration = whole_number(params.get("CallDuration"), high=MAX_DURATION)
        await calls.ended(request.app, call_id, cause=call_status, duration=duration)
    elif call_status == "in-progress":
        await calls.answered(request.app, call_id, params.get("AgentLogin") or None)
    return twiml("empty")


def _survey_url(survey_id: int, language: str, attempt: int) -> str:
    return f"/telephony/twilio/survey/answer?survey={survey_id}&lang={language}&attempt={attempt}"


async def _ask_survey(request: web.Request, call_id: str, *, bridged: bool) -> web.StreamResponse:
    """After the caller talked with an agent, ask for a CSAT score when the use case says so."""
    async with request.app[SESSIONS]() as session:
        survey = await post_call_survey.after_queue(session, call_id, bridged=bridged)
    if survey is None:
        return twiml("empty")
    return _survey_question(request, survey.survey_id, survey.language, attempt=1)


def _survey_question(request: web.Request, survey_id: int, language: str, *, attempt: int) -> web.Response:
    return twiml(
        "survey",
        voice=voice_for(request.app[SETTINGS], language),
        question=message("ivr_survey", language),
        goodbye=message("ivr_goodbye", language),
        answer_url=_survey_url(survey_id, language, attempt),
    )


async def after_queue(request: web.Request, params: Form) -> web.StreamResponse:
    """The caller left the queue (<Enqueue action>): survey them if they reached an agent."""
    call_id = _call_sid(params)
    if call_id is None:
        return _no_call_sid()
    return await _ask_survey(request, call_id, bridged=params.get("QueueResult") == "bridged")


async def after_dial(request: web.Request, params: Form) -> web.StreamResponse:
    """<Dial action>: the agent routing chose talked with the caller (then the survey), or did
    not pick up (then the agent is free again and the caller waits in the queue)."""
    call_id = _call_sid(params)
    if call_id is None:
        return _no_call_sid()
    dial_status = params.get("DialCallStatus", "")
    if dial_status in DIAL_ANSWERED:
        return await _ask_survey(request, call_id, bridged=True)
    if dial_status not in DIAL_MISSED:
        return twiml("empty")  # canceled: the caller hung up while the agent's phone rang
    decision = await calls.agent_missed(request.app, call_id)
    if decision is None or decision.action != "route":
        return twiml("empty")
    settings = request.app[SETTINGS]
    return twiml(
        "enqueue",
        voice=voice_for(settings, decision.language),
        welcome=None,
        queue=enqueue_for(settings, decision),
    )


async def survey_answer(request: web.Request, params: Form) -> web.StreamResponse:
    """The CSAT digit: recorded, then thanks. A key that is not a score is asked again once;
    a second one ends the call with thanks."""
    language = request.query.get("lang", "zh")
    survey_id = query_int(request, "survey", low=1)
    attempt = query_int(request, "attempt", low=1) or 1
    digit = whole_number(params.get("Digits"), high=9)
    valid = digit is not None
    if survey_id is not None and digit is not None:
        async with request.app[SESSIONS]() as session:
            try:
                await surveys.answer(session, survey_id, digit)
            except InvalidInput:
                valid = False
            except DomainError as error:
                # A repeated webhook, an expired survey: thank the caller all the same.
                log.info("IVR survey %s answer not recorded: %s", survey_id, error.error_id)
    if not valid and survey_id is not None and attempt < 2:
        return _survey_question(request, survey_id, language, attempt=attempt + 1)
    return twiml(
        "goodbye", voice=voice_for(request.app[SETTINGS], language), goodbye=message("ivr_goodbye", language)
    )


def _questionnaire_url(survey_id: int, question_id: int, language: str, attempt: int) -> str:
    query = f"survey={survey_id}&question={question_id}&lang={language}&attempt={attempt}"
    return f"{QUESTIONNAIRE_URL}/answer?{query}"


def _language(request: web.Request) -> str:
    language = request.query.get("lang", "zh")
    return language if language in LANGUAGES else "zh"


async def _ask_questionnaire(
    request: web.Request, survey_id: int, language: str, *, intro: str | None, attempt: int = 1
) -> web.Response:
    """The survey's next question a keypad can answer (a free-text one is skipped), or thanks
    when none is left."""
    settings = request.app[SETTINGS]
    voice = voice_for(settings, language)
    async with request.app[SESSIONS]() as session:
        try:
            found = await questionnaires.progress(session, survey_id)
            while found.next is not None and found.next.kind == "text" and not found.expired:
                skipped = Given(skip=True)
                found = await questionnaires.answer(session, survey_id, found.next.id, skipped, channel="ivr")
        except DomainError as error:
            log.info("IVR questionnaire %s: %s", survey_id, error.error_id)
            found = None
    asked = found.next if found is not None and not found.expired else None
    if found is None or asked is None:
        return twiml("goodbye", voice=voice, goodbye=message("ivr_quest_goodbye", language))
    question = message(
        "ivr_quest_question",
        language,
        number=found.number(asked),
        count=found.count,
        text=asked.text.get(language) or next(iter(asked.text.values())),
        kind=asked.kind,
        choices=[c.get(language) or next(iter(c.values())) for c in asked.choices],
    )
    return twiml(
        "questionnaire",
        voice=voice,
        intro=intro,
        question=question,
        until_hash=asked.kind == "scale10",
        goodbye=message("ivr_goodbye", language),
        answer_url=_questionnaire_url(survey_id, asked.id, language, attempt),
    )


async def questionnaire_start(request: web.Request, params: Form) -> web.StreamResponse:
    """The call placed for a phone questionnaire (`?survey=&lang=`): its first open question."""
    survey_id = query_int(request, "survey", low=1)
    if survey_id is None:
        raise InvalidInput("survey is required", field="survey")
    language = _language(request)
    return await _ask_questionnaire(request, survey_id, language, intro=message("ivr_quest_intro", language))


async def questionnaire_answer(request: web.Request, params: Form) -> web.StreamResponse:
    """A question's keys: recorded, then the next question. A key that is no answer is asked
    again once, then the question is skipped; a repeated webhook changes nothing."""
    survey_id = query_int(request, "survey", low=1)
    question_id = query_int(request, "question", low=1)
    if survey_id is None or question_id is None:
        raise InvalidInput("survey and question are required", field="survey")
    language = _language(request)
    attempt = query_int(request, "attempt", low=1, high=9) or 1
    value = whole_number((params.get("Digits") or "").rstrip("#"), high=99)
    async with request.app[SESSIONS]() as session:
        try:
            await questionnaires.answer(session, survey_id, question_id, Given(value=value), channel="ivr")
        except InvalidInput:
            if attempt < 2:
                sorry = message("ivr_quest_invalid", language)
                return await _ask_questionnaire(
                    request, survey_id, language, intro=sorry, attempt=attempt + 1
                )
            try:
                skipped = Given(skip=True)
                await questionnaires.answer(session, survey_id, question_id, skipped, channel="ivr")
            except DomainError as error:
                log.info("IVR questionnaire %s skip not recorded: %s", survey_id, error.error_id)
        except DomainError as error:  # an expired survey, a question not of this survey
            log.info("IVR questionnaire %s answer not recorded: %s", survey_id, error.error_id)
    return await _ask_questionnaire(request, survey_id, language, intro=None)


_PARAMETERS_READ = (
    "CallSid",
    "From",
    "To",
    "Digits",
    "CallStatus",
    "CallDuration",
    "QueueResult",
    "DialCallStatus",
    "ParentCallSid",
)
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
        query("lang", {"type": "string", "enum": list(LANGUAGES)}),
        query("attempt", {"type": "integer", "minimum": 1}),
    ),
    "/telephony/twilio/dial": _webhook("Twilio <Dial> action: the agent answered (survey) or not (queue)"),
    QUESTIONNAIRE_URL: _webhook(
        "The URL of a call placed for a phone questionnaire: its questions by keypad",
        query("survey", id_schema()),
        query("lang", {"type": "string", "enum": list(LANGUAGES)}),
    ),
    QUESTIONNAIRE_URL + "/answer": _webhook(
        "Twilio <Gather> action: the keys answering one questionnaire question",
        query("survey", id_schema()),
        query("question", id_schema()),
        query("lang", {"type": "string", "enum": list(LANGUAGES)}),
        query("attempt", {"type": "integer", "minimum": 1, "maximum": 9}),
    ),
}


def setup(app: web.Application) -> None:
    if not app[SETTINGS].twilio_auth_token:
        log.warning("no CONTACTDESK_TWILIO_AUTH_TOKEN: the Twilio webhooks refuse every request")
    app.router.add_post("/telephony/twilio/voice", signed(voice))
    app.router.add_post("/telephony/twilio/status", signed(status))
    app.router.add_post("/telephony/twilio/survey", signed(after_queue))
    app.router.add_post("/telephony/twilio/survey/answer", signed(survey_answer))
    app.router.add_post("/telephony/twilio/dial", signed(after_dial))
    app.router.add_post(QUESTIONNAIRE_URL, signed(questionnaire_start))
    app.router.add_post(QUESTIONNAIRE_URL + "/answer", signed(questionnaire_answer))
    app[OPENAPI].add(PATHS)
