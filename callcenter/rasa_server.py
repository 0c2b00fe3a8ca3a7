"""`contactdesk rasa-actions`: the Rasa custom actions on a port of their own.

The same `/rasa/webhook` as in the main app, with the same token check, and `/healthz`;
nothing else of the app (no console, no API, no workers). Replaces rasa-sdk's own
`python -m rasa_sdk` server, which checks no token and listens on every interface."""

from __future__ import annotations

from aiohttp import web

from callcenter import complaints_setup, health, rasa_webhook, web_runtime
from callcenter.bootstrap import Bootstrap
from callcenter.keys import INBOX_POLICY, OPENAPI
from callcenter.openapi import OpenAPI
from callcenter.web_errors import error_middleware


def create_actions_app(boot: Bootstrap) -> web.Application:
    app = web.Application(middlewares=[error_middleware])
    web_runtime.attach(app, boot)
    app[OPENAPI] = OpenAPI()  # the webhook describes itself there; this server does not publish it
    complaints_setup.setup(app, boot.policies.complaints, boot.policies.targets)
    app[INBOX_POLICY] = boot.policies.inbox  # the handoff action routes chats
    health.setup(app)
    rasa_webhook.setup(app)
    return app
