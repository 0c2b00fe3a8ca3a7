"""`POST /telephony/cti/{token}`: Zammad's Generic CTI, answered exactly as Zammad answers it,
so a PBX script written for Zammad (`https://…/api/v1/cti/TOKEN`) works by changing the
URL's start only.

Zammad's answers: an inbound `newCall` that must not ring (ours: a blacklisted caller, or a
routing rule that rejects) → `{"action": "reject", "reason": "busy"}`; an outbound `newCall`
whose destination has a caller id (CONTACTDESK_CTI_OUTBOUND_CALLER_IDS, Zammad's
`outbound` config) → `{"action": "dial", "number": to, "caller_id": …}`; anything else
`{}`. A wrong token is a 401, a missing or unknown `direction` a 422 (Zammad's order:
token, then direction). Our routing happens all the same; its queue, agent and priority are
in the contact log, the consoles and the JSON API, not in the answer."""

from __future__ import annotations

from aiohttp import web

from callcenter import calls
from callcenter.keys import OPENAPI, SETTINGS
from callcenter.openapi import ROOT, error_responses, json_ok, obj
from callcenter.shared_token import same_secret
from callcenter.telephony_cti import EVENT_SCHEMA, ZAMMAD_REJECT, no_such_call, progress, read_event
from callcenter.web_errors import json_error

DIRECTIONS = ("in", "out")


async def zammad_event(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if not same_secret(request.match_info["token"], settings.cti_token):
        return json_error(401, "unauthenticated", "Invalid token, please contact your admin!")
    event = await read_event(request)
    if event.direction not in DIRECTIONS:
        return json_error(
            422, "invalid-direction", "Invalid direction!", field="direction", allowed=list(DIRECTIONS)
        )
    app = request.app
    if event.event != "newCall":
        update = await progress(app, event)
        return no_such_call(event.call_id) if not update.known else web.json_response({})
    call = event.call()
    if call.direction == "out":
        await calls.log_outbound(app, call, event.names[0] if event.names else None, now=event.now)
        caller_id = settings.cti_outbound_caller_ids.caller_ids().for_destination(event.dialled)
        if caller_id is None:
            return web.json_response({})
        return web.json_response({"action": "dial", "number": event.dialled, "caller_id": caller_id})
    decision = await calls.decide(app, call, now=event.now)
    return web.json_response(ZAMMAD_REJECT if decision.action == "reject" else {})


_TEXT = {"type": "string"}
_ANSWER = {
    "anyOf": [
        obj({"action": {"const": "reject"}, "reason": {"const": "busy"}}),
        obj({"action": {"const": "dial"}, "number": _TEXT, "caller_id": _TEXT}),
        {"type": "object", "maxProperties": 0},
    ]
}

PATHS = {
    "/telephony/cti/{token}": {
        "post": {
            "summary": "Zammad Generic CTI call event, answered as Zammad answers it",
            "description": "The token is CONTACTDESK_CTI_TOKEN, in the path as Zammad puts it. "
            "`direction` is required here (in or out), as in Zammad.",
            "servers": ROOT,
            "security": [],
            "parameters": [
                {
                    "name": "token",
                    "in": "path",
                    "required": True,
                    "schema": _TEXT,
                    "description": "CONTACTDESK_CTI_TOKEN",
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": EVENT_SCHEMA},
                    "application/x-www-form-urlencoded": {"schema": EVENT_SCHEMA},
                },
            },
            "responses": {
                **json_ok(_ANSWER, description="reject (busy), dial with a caller id, or {}"),
                **error_responses(400, 401, 404, 422),
            },
        }
    }
}


def setup(app: web.Application) -> None:
    app.router.add_post("/telephony/cti/{token}", zammad_event)
    app[OPENAPI].add(PATHS)
