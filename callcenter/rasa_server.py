"""`contactdesk rasa-actions`: the Rasa custom actions on a port of their own.

The same `/rasa/webhook` as in the main app, with the same token check, and `/healthz`;
nothing else of the app (no console, no API, no workers). Replaces rasa-sdk's own
`python -m rasa_sdk` server, which checks no token and listens on every interface."""

from __future__ import annotations

from aiohttp import web

from callcenter import health, rasa_webhook
from callcenter.app import database
from callcenter.keys import OPENAPI, SETTINGS
from callcenter.openapi import OpenAPI
from callcenter.settings import Settings
from callcenter.web_errors import error_middleware


def create_actions_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[error_middleware])
    app[SETTINGS] = settings
    app[OPENAPI] = OpenAPI()  # the webhook describes itself there; this server does not publish it
    app.cleanup_ctx.append(database)
    health.setup(app)
    rasa_webhook.setup(app)
    return app
