"""Dispatch: the send rate, claims on due targets, the rules at send time, the outcome.

Every claim is `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of workers
share a campaign; on SQLite (one worker) the same statements run without the lock clause.
Nothing here commits: the use case commits each step (a claim, the mark that a message is
on the wire, the outcome) as its own transaction, which is what makes a dead worker safe."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.campaign_audience import open_complaint_exists
from storage.campaigns.caps import FrequencyCaps
from storage.campaigns.views import CampaignView, ClaimedTarget, campaign_view
from storage.models import Campaign, CampaignTarget, Customer
from storage.models.base import UTCDateTime


async def sendable_campaigns(session: AsyncSession, now: datetime) -> list[CampaignView]:
    rows = await session.execute(
        select(Campaign).where(Campaign.state == "running", Campaign.starts_at <= now).order_by(Campaign.id)
    )
    return [campaign_view(r) for r in rows.scalars()]


async def take_tokens(session: AsyncSession, campaign_id: int, want: int, now: datetime) -> int:
    """The send rate, shared by all workers: a token bucket kept on the campaign row, locked
    until the caller commits (at once)."""
    row = (
        await session.execute(select(Campaign).where(Campaign.id == campaign_id).with_for_update())
    ).scalar_one()
    if not row.rate_per_minute:
        return want
    per_second = row.rate_per_minute / 60
    burst = max(1.0, per_second)  # at most a second's worth at once
    elapsed = (now - row.tokens_at).total_seconds() if row.tokens_at else burst / per_second
    tokens = min(burst, row.tokens + max(elapsed, 0) * per_second)
    granted = min(want, int(tokens))
    row.tokens, row.tokens_at = tokens - granted, now
    return granted


async def claim(
    session: AsyncSession,
    campaign_id: int,
    timezones: list[str],
    *,
    channel: str,
    limit: int,
    token: str,
    now: datetime,
) -> list[ClaimedTarget]:
    """Claim due targets in open time zones; the caller commits the claim at once. A claim is
    only a reservation: a worker that dies holding it sends nothing, and the sweep releases it."""
    if limit <= 0 or not timezones:
        return []
    ids = (
        (
            await session.execute(
                select(CampaignTarget.id)
                .where(
                    CampaignTarget.campaign_id == campaign_id,
                    CampaignTarget.status == "pending",
                    CampaignTarget.channel == channel,
                    CampaignTarget.next_attempt_at <= now,
                    CampaignTarget.timezone.in_(timezones),
                    # A care greeting whose day has ended in the customer's zone waits to expire.
                    or_(CampaignTarget.not_after.is_(None), CampaignTarget.not_after > now),
                )
                .order_by(CampaignTarget.next_attempt_at, CampaignTarget.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        .scalars()
        .all()
    )
    if not ids:
        return []
    rows = await session.execute(
        update(CampaignTarget)
        .execution_options(synchronize_session=False)
        .where(CampaignTarget.id.in_(ids), CampaignTarget.status == "pending")
        .values(status="claimed", claim_token=token, claimed_at=now)
        .returning(
            CampaignTarget.id,
            CampaignTarget.campaign_id,
            CampaignTarget.customer_id,
            CampaignTarget.channel,
            CampaignTarget.address,
            CampaignTarget.language,
            CampaignTarget.attempts,
            CampaignTarget.occasion,
        )
    )
    claimed = [ClaimedTarget(*row[:7], token=token, occasion=row[7]) for row in rows.all()]
    claimed.sort(key=lambda t: t.id)
    return claimed


async def begin_send(
    session: AsyncSession,
    target: ClaimedTarget,
    *,
    kind: str,
    now: datetime,
    frequency_cap: FrequencyCaps,
    new_status: str = "sending",
) -> tuple[str, dict[str, Any]]:
    """Check the rules and mark the target on the wire, in one transaction the caller commits.

    Returns the verdict and what the message may say about the customer. The verdict is
    `go`, `stopped` (the campaign is no longer running: the caller rolls back, which undoes
    the frequency-cap mark on the customer, and then `release`s the target) or
    the reason a rule refused (the target is then final as `skipped`). The customer row is
    updated conditionally, so two campaigns racing for the same customer cannot both pass
    the frequency cap."""
    rules = [
        Customer.id == target.customer_id,
        Customer.blacklisted.is_(False),
        Customer.marketing_opt_out.is_(False),
        Customer.merged_into_id.is_(None),
    ]
    if target.attempts == 0:  # a retry already counted against the cap
        latest = frequency_cap.latest_stamp(Customer.tier, now)
        rules.append(or_(Customer.last_campaign_at.is_(None), Customer.last_campaign_at <= latest))
    if kind == "cross_sell":
        rules.append(~open_complaint_exists(Customer.id))
    passed = await session.execute(
        update(Customer)
        .execution_options(synchronize_session=False)
        .where(*rules)
        .values(last_campaign_at=now)
        .returning(Customer.id, Customer.name, Customer.tier)
    )
    customer = passed.first()
    if customer is None:
        reason = await _refusal(session, target.customer_id, kind=kind, now=now, frequency_cap=frequency_cap)
        await session.execute(
            update(CampaignTarget)
            .execution_options(synchronize_session=False)
            .where(CampaignTarget.id == target.id, CampaignTarget.claim_token == target.token)
            .values(status="skipped", reason=reason, claim_token=None)
        )
        return reason, {}
    running = (
        select(Campaign.id).where(Campaign.id == target.campaign_id, Campaign.state == "running").exists()
    )
    marked = await session.execute(
        update(CampaignTarget)
        .execution_options(synchronize_session=False)
        .where(
            CampaignTarget.id == target.id,
            CampaignTarget.status == "claimed",
            CampaignTarget.claim_token == target.token,
            running,
        )
        .values(status=new_status, claimed_at=now, attempts=CampaignTarget.attempts + 1)
    )
    if not marked.rowcount:  # type: ignore[attr-defined]
        return "stopped", {}
    return "go", {"name": customer.name, "tier": customer.tier}


async def _refusal(
    session: AsyncSession, customer_id: int, *, kind: str, now: datetime, frequency_cap: FrequencyCaps
) -> str:
    row = (
        await session.execute(
            select(
                Customer.blacklisted,
                Customer.marketing_opt_out,
                Customer.merged_into_id,
                Customer.last_campaign_at,
                open_complaint_exists(Customer.id),
                Customer.tier,
            ).where(Customer.id == customer_id)
        )
    ).first()
    if row is None:
        return "customer_gone"
    blacklisted, opted_out, merged, last, open_complaint, tier = row
    if blacklisted:
        return "blacklisted"
    if opted_out:
        return "opted_out"
    if merged is not None:
        return "merged"
    if kind == "cross_sell" and open_complaint:
        return "open_complaint"
    if last is not None and last > now - frequency_cap.for_tier(tier):
        return "frequency_cap"
    return "refused"


async def release(session: AsyncSession, target: ClaimedTarget) -> None:
    """Give a claim back: to `pending` when paused, or `cancelled` with its campaign."""
    cancelled = select(Campaign.id).where(Campaign.id == target.campaign_id, Campaign.state == "cancelled")
    await session.execute(
        update(CampaignTarget)
        .execution_options(synchronize_session=False)
        .where(
            CampaignTarget.id == target.id,
            CampaignTarget.status == "claimed",
            CampaignTarget.claim_token == target.token,
        )
        .values(status=case((cancelled.exists(), "cancelled"), else_="pending"), claim_token=None)
    )


async def attach_survey(session: AsyncSession, target_id: int, survey_id: int) -> None:
    await session.execute(
        update(CampaignTarget)
        .execution_options(synchronize_session=False)
        .where(CampaignTarget.id == target_id)
        .values(survey_id=survey_id)
    )


async def finish(
    session: AsyncSession,
    target: ClaimedTarget,
    status: str,
    *,
    now: datetime,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    """Record the outcome. Matching on the claim token (not on the state) lets a slow send
    that the sweep already marked `uncertain` still record that it went out."""
    await finish_many(session, [Outcome(target, status, now, error, retry_at)])


@dataclass(frozen=True)
class Outcome:
    """What to record for one target: a final status, or `pending` again until `retry_at`."""

    target: ClaimedTarget
    status: str
    at: datetime
    error: str | None = None
    retry_at: datetime | None = None


async def finish_many(session: AsyncSession, outcomes: Sequence[Outcome]) -> None:
    """Record a batch of outcomes, as `finish` does one by one, in one executemany (one
    pipelined round trip on asyncpg); the caller commits once for the batch."""
    if not outcomes:
        return
    table = cast(Table, CampaignTarget.__table__)
    statement = (
        update(table)
        .where(table.c.id == bindparam("o_id"), table.c.claim_token == bindparam("o_token"))
        .values(
            status=bindparam("o_status"),
            error=bindparam("o_error"),
            claim_token=None,
            next_attempt_at=func.coalesce(bindparam("o_retry", type_=UTCDateTime), table.c.next_attempt_at),
            sent_at=func.coalesce(bindparam("o_sent", type_=UTCDateTime), table.c.sent_at),
        )
    )
    await session.execute(
        statement,
        [
            {
                "o_id": o.target.id,
                "o_token": o.target.token,
                "o_status": "pending" if o.retry_at is not None else o.status,
                "o_error": o.error[:500] if o.error else None,
                "o_retry": o.retry_at,
                "o_sent": o.at if o.retry_at is None and o.status in ("sent", "answered") else None,
            }
            for o in outcomes
        ],
    )


async def customer_facts(session: AsyncSession, customer_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """What a campaign text may name of each customer (name and tier), for a claimed batch:
    the dispatcher renders each text before the mark, so that a text that cannot be
    rendered fails its target without moving the customer's frequency-cap stamp."""
    found: dict[int, dict[str, Any]] = {}
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), 500):  # SQLite's variable limit
        rows = await session.execute(
            select(Customer.id, Customer.name, Customer.tier).where(Customer.id.in_(ids[start : start + 500]))
        )
        found.update({row.id: {"name": row.name, "tier": row.tier} for row in rows})
    return found
