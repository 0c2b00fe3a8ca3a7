"""The dialer: the PBX pulls the next customer to call with the script, then posts the result."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from jinja2 import TemplateError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.campaigns.dispatch import begin_send, survey_for
from handlers.campaigns.messages import customer_context, render_off_loop
from handlers.campaigns.policy import Policy
from handlers.campaigns.schedule import open_zones
from handlers.delivery import backoff
from handlers.errors import Conflict, InvalidInput, NotFound
from storage.campaigns import dispatch as repo
from storage.campaigns import lifecycle, views
from storage.models.base import utcnow

DIALER_ATTEMPTS = 3
# Final outcomes a dialer may post back; no_answer and busy are tried again later.
DIAL_OUTCOMES = ("answered", "no_answer", "busy", "refused", "failed", "wrong_number")


async def next_dial(
    sessions: async_sessionmaker[AsyncSession], policy: Policy, now: datetime | None = None
) -> dict[str, Any] | None:
    """The next customer for the PBX to call, with the script; None when nobody is due."""
    now = now or utcnow()
    token = secrets.token_hex(8)
    async with sessions() as session:
        await lifecycle.sweep(session, now, policy.lease)
        await session.commit()
        for campaign in await repo.sendable_campaigns(session, now):
            zones = open_zones(campaign, now)
            if not zones or campaign.channel == "telegram":
                continue
            while True:
                claimed = await repo.claim(
                    session, campaign.id, zones, channel="dialer", limit=1, token=token, now=now
                )
                await session.commit()  # the claim is ours from here; SKIP LOCKED let others pass
                if not claimed:
                    break
                target = claimed[0]
                verdict, customer = await begin_send(
                    session, campaign, target, policy, now, new_status="dialing"
                )
                if verdict == "stopped":
                    break
                if verdict != "go":
                    continue
                context = await customer_context(session, campaign, customer)
                survey_id = None
                if campaign.kind == "satisfaction":
                    survey_id = await survey_for(session, campaign, target, now)
                    context["survey_id"] = survey_id
                try:
                    script = await render_off_loop(campaign, target.language, context)
                except TemplateError as error:  # this customer's text only; the next one may do
                    await session.rollback()
                    await repo.finish(session, target, "failed", now=now, error=f"render: {error}")
                    await session.commit()
                    continue
                await session.commit()
                return {
                    "target_id": target.id,
                    "campaign_id": campaign.id,
                    "campaign": campaign.name,
                    "kind": campaign.kind,
                    "phone": target.address,
                    "customer_id": target.customer_id,
                    "language": target.language,
                    "script": script,
                    "survey_id": survey_id,
                    # A questionnaire: the console form the agent records the answers on.
                    "answer_url": f"/surveys/{survey_id}/answers" if campaign.questionnaire_id else None,
                    "lease_seconds": int(policy.lease.total_seconds()),
                }
    return None


async def dial_result(
    session: AsyncSession,
    target_id: int,
    outcome: str,
    *,
    note: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record what the PBX reports. A repeated report of a final result changes nothing."""
    now = now or utcnow()
    if outcome not in DIAL_OUTCOMES:
        raise InvalidInput("unknown call outcome", field="outcome", allowed=list(DIAL_OUTCOMES))
    target = await views.target_by_id(session, target_id)
    if target is None or target.channel != "dialer":
        raise NotFound("no such dialer target", target_id=target_id)
    if target.status != "dialing":
        if target.status in ("answered", "refused", "failed", "wrong_number", "no_answer", "busy"):
            return {"target_id": target_id, "status": target.status, "repeat": True}
        raise Conflict("this target is not being dialled", error_id="not-dialing", status=target.status)
    retry = outcome in ("no_answer", "busy") and target.attempts < DIALER_ATTEMPTS
    await repo.finish(
        session,
        target.claimed(),
        outcome,
        now=now,
        error=(note or None),
        retry_at=now + backoff(target.attempts) if retry else None,
    )
    await session.commit()
    return {"target_id": target_id, "status": "pending" if retry else outcome, "repeat": False}
