"""`POST /rasa/webhook`: Rasa's custom-action contract, run by rasa-sdk's own ActionExecutor
inside our aiohttp app (rasa-sdk's server is Sanic; we reuse its executor, not its server).

Only the Rasa server may call it: it must present CONTACTDESK_RASA_TOKEN, which Rasa sends as
`?token=` when `action_endpoint` in endpoints.yml has `token:`. Unset, every call is refused."""

from __future__ import annotations

import json
import logging

from aiohttp import web
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions import ACTIONS, Services
from callcenter.complaints_setup import POLICY as COMPLAINT_POLICY
from callcenter.keys import EVENTS, INBOX_POLICY, OPENAPI, SESSIONS, SETTINGS
from callcenter.openapi import RASA_SECURITY, ROOT, error_responses, json_ok, nullable, obj
from callcenter.serialize import read_json
from callcenter.shared_token import refused, token_matches
from callcenter.web_errors import json_error

log = logging.getLogger(__name__)

EXECUTOR = web.AppKey("rasa_executor", ActionExecutor)
TOKEN_SETTING = "CONTACTDESK_RASA_TOKEN"  # noqa: S105 - the name of the setting, not its value


def build_executor(app: web.Application) -> ActionExecutor:
    settings = app[SETTINGS]

    def sessions() -> AsyncSession:
        return app[SESSIONS]()  # opened at startup, after the executor is built

    services = Services(
        sessions=sessions,
        region=settings.default_region,
        policy=app[COMPLAINT_POLICY],
        trusted_channels=frozenset(settings.rasa_trusted_channels),
        inbox=app[INBOX_POLICY],
        events=lambda: app[EVENTS],
    )
    executor = ActionExecutor()
    for action in ACTIONS:
        executor.register_action(action(services))
    return executor


def _rasa_error(status: int, message: str, action_name: object) -> web.Response:
    # rasa-sdk's own server answers {"error", "action_name"}; `message` adds our error shape.
    return web.json_response(
        {"error": message, "message": message, "action_name": action_name}, status=status
    )


async def rasa_webhook(request: web.Request) -> web.Response:
    if not token_matches(request, request.app[SETTINGS].rasa_token):
        return refused(TOKEN_SETTING)
    action_call = await read_json(request)
    if not isinstance(action_call.get("next_action"), str) or not action_call["next_action"]:
        return json_error(400, "invalid-input", "next_action names the action to run", field="next_action")
    try:
        result = await request.app[EXECUTOR].run(action_call)
    except ActionExecutionRejection as error:
        return _rasa_error(400, error.message, error.action_name)
    except ActionNotFoundException as error:
        return _rasa_error(404, error.message, error.action_name)
    except ActionMissingDomainException as error:
        return _rasa_error(449, error.message, error.action_name)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        # A tracker missing the fields Rasa always sends: the request, not us, is broken.
        log.info("malformed Rasa action call: %s", type(error).__name__)
        return _rasa_error(400, f"malformed action call: {type(error).__name__}", action_call["next_action"])
    return web.json_response(
        result.model_dump() if result else {"events": [], "responses": []},
        dumps=lambda v: json.dumps(v, ensure_ascii=False),
    )


# rasa-sdk's own error body, which Rasa reads: not our Error schema.
_RASA_ERROR = {
    "description": "rasa-sdk's error",
    "content": {
        "application/json": {
            "schema": obj({"error": {"type": "string"}}, {"action_name": nullable({"type": "string"})})
        }
    },
}
_ACTION_CALL = obj(
    {
        "next_action": {
            "type": "string",
            "examples": ["action_identify_customer", "action_complaint_status", "action_suggest_offer"],
        },
        "sender_id": {"type": "string"},
        "tracker": {"type": "object"},
        "domain": {"type": "object"},
    },
    {"version": {"type": "string"}, "domain_digest": {"type": "string"}},
)

PATHS = {
    "/rasa/webhook": {
        "post": {
            "summary": "Rasa custom actions (the rasa-sdk action server contract)",
            "servers": ROOT,
            "security": RASA_SECURITY,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ACTION_CALL}}},
            "responses": {
                **json_ok(
                    obj(
                        {
                            "events": {"type": "array", "items": {"type": "object"}},
                            "responses": {"type": "array", "items": {"type": "object"}},
                        }
                    ),
                    description="events and responses",
                ),
                "400": {**_RASA_ERROR, "description": "a malformed action call"},
                "404": {**_RASA_ERROR, "description": "no such action"},
                "449": {**_RASA_ERROR, "description": "the action needs the domain"},
                **error_responses(401),
            },
        }
    }
}


def setup(app: web.Application) -> None:
    if not app[SETTINGS].rasa_token:
        log.warning("no %s: the Rasa action endpoint refuses every call", TOKEN_SETTING)
    app[EXECUTOR] = build_executor(app)
    app.router.add_post("/rasa/webhook", rasa_webhook)
    app[OPENAPI].add(PATHS)
