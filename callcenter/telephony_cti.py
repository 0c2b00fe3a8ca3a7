"""`POST /telephony/cti`: call events from Asterisk, FreeSWITCH or any PBX.

Our JSON (`event`, `call_id`, `from`, `to`, `direction`, `agent`, and `timestamp`: when the
event happened, so that a late retry does not lengthen a wait) and Zammad's Generic CTI
names (`callId`, `user`, `answeringNumber`, `queue`, `cause`, as JSON or form data) are
both accepted, so PBX scripts written for Zammad work unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from callcenter import calls
from callcenter.keys import CLOCK, OPENAPI, SETTINGS
from callcenter.openapi import CTI_SECURITY, ROOT, error_responses, id_schema, json_ok, nullable, obj
from callcenter.serialize import read_form, read_json
from callcenter.shared_token import token_matches
from callcenter.web_errors import json_error
from handlers.errors import InvalidInput
from handlers.inputs import whole_number
from handlers.routing.calls import Answerer, CallUpdate
from handlers.routing.event_time import event_time
from handlers.routing.rules import InboundCall

EVENTS = ("newCall", "answer", "hangup")
MAX_DURATION = 2**31 - 1  # seconds; the column is a 32-bit integer
MAX_CALL_ID = 128  # the contact log's external id
ZAMMAD_REJECT = {"action": "reject", "reason": "busy"}


def authorised(request: web.Request) -> bool:
    """The telephony platform's token: CTI events and the dialer's pulls both carry it."""
    return token_matches(request, request.app[SETTINGS].cti_token)


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        return await read_json(request)
    form = await read_form(request)
    body: dict[str, Any] = {}
    for key in form:
        values = form.getall(key)
        if key.endswith("[]"):  # Rails' list form (Zammad's `user[]`)
            body[key[:-2]] = values
        else:
            body[key] = values if len(values) > 1 else values[0]
    return body


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value in (None, "") else str(value)


def _names(value: Any) -> tuple[str, ...]:
    """Zammad's `user`: a list, a comma-separated string or one name."""
    items = value if isinstance(value, list) else [value]
    names = (part.strip() for item in items if item is not None for part in str(item).split(","))
    return tuple(name for name in names if name)


@dataclass(frozen=True)
class CtiEvent:
    """One call event as a PBX sends it, in our names or Zammad's."""

    event: str
    call_id: str
    direction: str | None  # as sent: in, out, or anything (each door checks it its way)
    caller: str | None
    dialled: str | None
    names: tuple[str, ...]  # our `agent`, Zammad's `user`
    answering_number: str | None
    queue: str | None
    cause: str | None
    duration: int | None
    now: datetime
    zammad_names: bool = False  # the body said `callId`

    def call(self) -> InboundCall:
        return InboundCall(
            call_id=self.call_id,
            caller=self.caller,
            dialled=self.dialled,
            direction=self.direction or "in",
            queue=self.queue,
        )


async def read_event(request: web.Request) -> CtiEvent:
    """The event in the body, or InvalidInput (a 400) saying what is wrong."""
    body = await _body(request)
    event = _text(body.get("event"))
    call_id = _text(body.get("call_id") or body.get("callId"))
    if event not in EVENTS:
        raise InvalidInput(f"event must be one of {', '.join(EVENTS)}", field="event")
    if not call_id or len(call_id) > MAX_CALL_ID:
        raise InvalidInput(
            f"call_id (or callId) is required, at most {MAX_CALL_ID} characters", field="call_id"
        )
    stamp = body.get("timestamp")
    cause = _text(body.get("cause"))
    return CtiEvent(
        event=event,
        call_id=call_id,
        direction=_text(body.get("direction")),
        caller=_text(body.get("from")),
        dialled=_text(body.get("to")),
        names=_names(body.get("agent") or body.get("user")),
        answering_number=_text(body.get("answeringNumber")),
        queue=_text(body.get("queue")),
        cause=cause[:64] if cause else None,
        duration=whole_number(_text(body.get("duration")), high=MAX_DURATION),
        now=event_time(_text(stamp) if isinstance(stamp, list) else stamp, request.app[CLOCK]()),
        zammad_names="callId" in body,
    )


async def progress(app: web.Application, event: CtiEvent) -> CallUpdate:
    """An answer or a hangup, as both doors take it."""
    if event.event == "answer":
        answerer = Answerer(number=event.answering_number, names=event.names)
        return await calls.answered(app, event.call_id, answerer, now=event.now)
    return await calls.ended(app, event.call_id, cause=event.cause, duration=event.duration, now=event.now)


def no_such_call(call_id: str) -> web.Response:
    return json_error(404, "no-such-call", "no newCall was seen for this call id", call_id=call_id)


async def cti_event(request: web.Request) -> web.Response:
    if not authorised(request):
        return json_error(401, "unauthenticated", "send Authorization: Bearer <CONTACTDESK_CTI_TOKEN>")
    app = request.app
    event = await read_event(request)
    if event.direction not in (None, "in", "out"):
        return json_error(400, "invalid-input", "direction is in or out", field="direction")
    if event.event != "newCall":
        update = await progress(app, event)
        return no_such_call(event.call_id) if not update.known else web.json_response({"ok": True})
    call = event.call()
    if call.direction == "out":
        await calls.log_outbound(app, call, event.names[0] if event.names else None, now=event.now)
        return web.json_response({"action": "logged"})
    decision = await calls.decide(app, call, now=event.now)
    if decision.action == "reject":
        # A Zammad-style request here (its names, or its token in the URL) is told Zammad's
        # reject; /telephony/cti/{token} always answers as Zammad does.
        if event.zammad_names or "Authorization" not in request.headers:
            return web.json_response(ZAMMAD_REJECT)
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


_TEXT = {"type": "string"}
EVENT_SCHEMA = {
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
                    "application/json": {"schema": EVENT_SCHEMA},
                    "application/x-www-form-urlencoded": {"schema": EVENT_SCHEMA},
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
