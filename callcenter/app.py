"""The one aiohttp application that serves everything: each feature mounted over the parts
the composition root (callcenter/bootstrap.py) built."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from callcenter import (
    api_alerts,
    api_audit,
    api_campaigns,
    api_complaints,
    api_conversations,
    api_customers,
    api_live_report,
    api_questionnaires,
    api_tiers,
    api_users,
    calls,
    complaints_setup,
    console,
    console_auth,
    console_pages,
    health,
    page_audit,
    page_campaigns,
    page_complaints,
    page_customers,
    page_escalations,
    page_questionnaires,
    page_satisfaction,
    page_supervisor,
    page_tiers,
    page_users,
    rasa_webhook,
    telegram_webhook,
    telephony_cti,
    telephony_cti_zammad,
    telephony_twilio,
    web_runtime,
    web_security,
)
from callcenter.auth import LOADERS
from callcenter.bootstrap import Bootstrap, running
from callcenter.keys import CLOCK, INBOX_POLICY, METRICS, OPENAPI
from callcenter.metrics import Metrics
from callcenter.openapi import OpenAPI
from callcenter.settings import Settings
from callcenter.web_errors import error_middleware
from storage.models.base import utcnow


def create_app(
    settings: Settings | None = None, *, run_workers: bool = False, boot: Bootstrap | None = None
) -> web.Application:
    """The web application over the composition root's parts (built here from `settings`
    unless given); with `run_workers` it also runs the bootstrap's workers."""
    boot = boot or Bootstrap(settings or Settings())
    policies = boot.policies
    metrics: Metrics = boot.metrics
    app = web.Application(middlewares=[metrics.middleware(), error_middleware])
    web_runtime.attach(app, boot)
    app[METRICS] = metrics
    app[CLOCK] = utcnow
    app[INBOX_POLICY] = policies.inbox
    app[OPENAPI] = OpenAPI()
    app[LOADERS] = []
    app[api_customers.PROFILE_SECTIONS] = {}

    web_security.setup(app)
    health.setup(app)
    app.router.add_get("/metrics", metrics.handle)
    app.router.add_get("/api/v1/openapi.json", app[OPENAPI].handle)
    api_customers.setup(app)
    complaints_setup.setup(app, policies.complaints, policies.targets)
    api_complaints.setup(app)
    api_conversations.setup(app)
    api_alerts.setup(app)
    api_tiers.setup(app, policies.tiers)
    api_live_report.setup(app)
    api_questionnaires.setup(app)
    api_campaigns.setup(app, policies.campaigns)
    page_satisfaction.setup(app)
    page_questionnaires.setup(app)
    page_campaigns.setup(app)
    page_complaints.setup(app)
    page_customers.setup(app)
    page_escalations.setup(app)
    page_tiers.setup(app)
    api_audit.setup(app)
    api_users.setup(app, policies.routing)
    page_audit.setup(app)
    page_users.setup(app)
    calls.setup(app, policies.routing)
    telephony_cti.setup(app)
    telephony_cti_zammad.setup(app)
    telephony_twilio.setup(app)
    telegram_webhook.setup(app, boot.telegram, policies.complaints, policies.inbox)
    rasa_webhook.setup(app)
    console_auth.setup(app)
    console_pages.setup(app)
    console.setup(app)
    page_supervisor.setup(app)

    if run_workers:
        # Workers start last so that every feature's resources are open before they run.
        async def workers(app: web.Application) -> AsyncIterator[None]:
            async with running(boot.workers(app[web_runtime.DATABASE])):
                yield

        app.cleanup_ctx.append(workers)

    async def close_bot(_app: web.Application) -> None:
        await boot.close_telegram()

    app.on_cleanup.append(close_bot)
    return app
