"""`POST /rasa/webhook`: Rasa's custom-action contract, run by rasa-sdk's own ActionExecutor
inside our aiohttp app (rasa-sdk's server is Sanic; we reuse its executor, not its server)."""

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
from callcenter.keys import OPENAPI, SESSIONS, SETTINGS
from callcenter.openapi import RASA_SECURITY, ROOT, error_responses, json_ok, nullable, obj

log = logging.getLogger(__name__)

EXECUTOR = web.AppKey("rasa_executor", ActionExecutor)


def build_executor(app: web.Application) -> ActionExecutor:
    def sessions() -> AsyncSession:
        return app[SESSIONS]()  # opened at startup, after the executor is built

    services = Services(sessions, app[SETTINGS])
    executor = ActionExecutor()
    for action in ACTIONS:
        executor.register_action(action(services))
    return executor


async def rasa_webhook(request: web.Request) -> web.Response:
    try:
        action_call = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return web.json_response({"error": "Invalid body request"}, status=400)
    if not isinstance(action_call, dict):
        return web.json_response({"error": "Invalid body request"}, status=400)
    try:
        result = await request.app[EXECUTOR].run(action_call)
    except ActionExecutionRejection as error:
        return web.json_response({"error": error.message, "action_name": error.action_name}, status=400)
    except ActionNotFoundException as error:
        return web.json_response({"error": error.message, "action_name": error.action_name}, status=404)
    except ActionMissingDomainException as error:
        return web.json_response({"error": error.message, "action_name": error.action_name}, status=449)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        # A tracker missing the fields Rasa always sends: the request, not us, is broken.
        log.info("malformed Rasa action call: %s", type(error).__name__)
        action_name = action_call.get("next_action")
        return web.json_response(
            {
                "error": f"malformed action call: {type(error).__name__}",
                # Echo a name, never whatever else the caller put there.
                "action_name": action_name if isinstance(action_name, str) else None,
            },
            status=400,
        )
    return web.json_response(
        result.model_dump() if result else None, dumps=lambda v: json.dumps(v, ensure_ascii=False)
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
    {"version": {"type": "string"}},
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
                    nullable(
                        obj(
                            {
                                "events": {"type": "array", "items": {"type": "object"}},
                                "responses": {"type": "array", "items": {"type": "object"}},
                            }
                        )
                    ),
                    description="events and responses (null without next_action)",
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
    app[EXECUTOR] = build_executor(app)
    app.router.add_post("/rasa/webhook", rasa_webhook)
    app[OPENAPI].add(PATHS)
