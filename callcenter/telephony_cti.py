"""`POST /telephony/cti`: call events from Asterisk, FreeSWITCH or any PBX.

Our JSON (`event`, `call_id`, `from`, `to`, `direction`, `agent`, and `timestamp`: when the
event happened, so that a late retry does not lengthen a wait) and Zammad's Generic CTI
names (`callId`, `user`, `answeringNumber`, `queue`, `cause`, as JSON or form data) are
both accepted, so PBX scripts written for Zammad work unchanged."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from callcenter import calls
from callcenter.keys import CLOCK, OPENAPI, SETTINGS
from callcenter.openapi import CTI_SECURITY, ROOT, error_responses, id_schema, json_ok, nullable, obj
from callcenter.serialize import read_form, read_json
from callcenter.shared_token import token_matches
from callcenter.web_errors import json_error
from handlers.inputs import whole_number
from handlers.routing.event_time import event_time
from handlers.routing.rules import InboundCall

EVENTS = ("newCall", "answer", "hangup")
MAX_DURATION = 2**31 - 1  # seconds; the column is a 32-bit integer
MAX_CALL_ID = 128  # the contact log's external id


def authorised(request: web.Request) -> bool:
    """The telephony platform's token: CTI events and the dialer's pulls both carry it."""
    return token_matches(request, request.app[SETTINGS].cti_token)


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        return await read_json(request)
    form = await read_form(request)
    return {key: (form.getall(key) if len(form.getall(key)) > 1 else form[key]) for key in form}


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value in (None, "") else str(value)


async def cti_event(request: web.Request) -> web.Response:
    if not authorised(request):
        return json_error(401, "unauthenticated", "send Authorization: Bearer <CONTACTDESK_CTI_TOKEN>")
    body = await _body(request)
    zammad = "callId" in body
    event = _text(body.get("event"))
    call_id = _text(body.get("call_id") or body.get("callId"))
    if event not in EVENTS:
        return json_error(400, "invalid-input", f"event must be one of {', '.join(EVENTS)}", field="event")
    if not call_id or len(call_id) > MAX_CALL_ID:
        return json_error(
            400,
            "invalid-input",
            f"call_id (or callId) is required, at most {MAX_CALL_ID} characters",
            field="call_id",
        )
    direction = _text(body.get("direction")) or "in"
    if direction not in ("in", "out"):
        return json_error(400, "invalid-input", "direction is in or out", field="direction")
    agent = _text(body.get("agent") or body.get("user"))
    app = request.app
    stamp = body.get("timestamp")
    now = event_time(_text(stamp) if isinstance(stamp, list) else stamp, app[CLOCK]())

    if event == "newCall":
        call = InboundCall(
            call_id=call_id,
            caller=_text(body.get("from")),
            dialled=_text(body.get("to")),
            direction=direction,
        )
        if direction == "out":
            await calls.log_outbound(app, call, agent, now=now)
            return web.json_response({"action": "logged"})
        decision = await calls.decide(app, call, now=now)
        if decision.action == "reject":
            if zammad:
                return web.json_response({"action": "reject", "reason": "busy"})
            return web.json_response(
                {
                    "action": "reject",
                    "reason": decision.reason,
                    "queue": None,
                    "priority": 0,
                    "customer_id": decision.customer_id,
                }
            )
        answer: dict[str, Any] = {
            "action": "route",
            "queue": decision.queue or "callback",
            "priority": decision.priority,
            "reason": decision.reason,
        }
        if decision.agent:
            answer["agent"] = decision.agent
        if decision.customer_id is not None:
            answer["customer_id"] = decision.customer_id
        if decision.ivr:
            answer["ivr"] = True
        if decision.action == "callback":
            answer["callback"] = True
        return web.json_response(answer)

    if event == "answer":
        update = await calls.answered(app, call_id, agent or _text(body.get("answeringNumber")), now=now)
    else:
        duration = whole_number(_text(body.get("duration")), high=MAX_DURATION)
        cause = _text(body.get("cause"))
        update = await calls.ended(
            app, call_id, cause=cause[:64] if cause else None, duration=duration, now=now
        )
    if not update.known:
        return json_error(404, "no-such-call", "no newCall was seen for this call id", call_id=call_id)
    return web.json_response({"ok": True})


_TEXT = {"type": "string"}
_EVENT = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": list(EVENTS)},
        "call_id": _TEXT,
        "callId": {**_TEXT, "description": "Zammad's name for call_id"},
        "from": _TEXT,
        "to": _TEXT,
        "direction": {"type": "string", "enum": ["in", "out"], "default": "in"},
        "agent": _TEXT,
        "user": {**_TEXT, "description": "Zammad's name for agent"},
        "answeringNumber": _TEXT,
        "queue": _TEXT,
        "cause": _TEXT,
        "duration": {"type": "integer", "minimum": 0, "description": "seconds, on hangup"},
        "timestamp": {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "number", "minimum": 0}],
            "description": "when the event happened: ISO 8601 with its offset, or epoch seconds; "
            "at most 5 s ahead of our clock and 24 h behind it (default: when it arrives)",
        },
    },
    "required": ["event"],
}
_ANSWER = {
    "anyOf": [
        obj(
            {"action": {"type": "string", "enum": ["route", "reject", "logged"]}},
            {
                "queue": nullable(_TEXT),
                "priority": {"type": "integer"},
                "reason": nullable(_TEXT),
                "agent": _TEXT,
                "customer_id": nullable(id_schema()),
                "ivr": {"type": "boolean"},
                "callback": {"type": "boolean"},
            },
        ),
        obj({"ok": {"const": True}}),
    ]
}

PATHS = {
    "/telephony/cti": {
        "post": {
            "summary": "Generic CTI call event (newCall, answer, hangup); Zammad Generic CTI names accepted",
            "servers": ROOT,
            "security": CTI_SECURITY,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": _EVENT},
                    "application/x-www-form-urlencoded": {"schema": _EVENT},
                },
            },
            "responses": {
                **json_ok(_ANSWER, description="the routing decision (newCall) or ok"),
                **error_responses(400, 401, 404),
            },
        }
    }
}


def setup(app: web.Application) -> None:
    app.router.add_post("/telephony/cti", cti_event)
    app[OPENAPI].add(PATHS)
