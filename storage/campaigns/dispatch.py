"""Campaign repository: the campaign rows, expansion into targets, claims and outcomes.

Every claim is `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of workers
share a campaign; on SQLite (one worker) the same statements run without the lock clause."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.campaign_audience import Audience, conditions, count_query, customer_ids, open_complaint_exists
from storage.campaign_audience import cap_boundary as audience_cap_boundary
from storage.db import dialect_insert
from storage.models import (
    Campaign,
    CampaignTarget,
    Customer,
    CustomerIdentity,
    OfferConversion,
    Survey,
    TelegramBlockedChat,
)

# Targets in these states are still to be worked on; every other state is final.
OPEN_STATES = ("pending", "claimed", "sending", "dialing")


@dataclass(frozen=True)
class CampaignView:
    id: int
    name: str
    kind: str
    channel: str
    state: str
    messages: dict[str, str]
    survey_kind: str | None
    offer_code: str | None
    audience: dict[str, Any]
    starts_at: datetime
    ends_at: datetime | None
    hour_from: int
    hour_to: int
    weekdays: list[int]
    rate_per_minute: int | None
    recurrence_days: int | None
    parent_id: int | None
    expanded: bool
    audience_count: int | None
    timezones: list[str]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class ClaimedTarget:
    id: int
    campaign_id: int
    customer_id: int
    channel: str
    address: str | None
    language: str
    attempts: int
    token: str


def _view(row: Campaign) -> CampaignView:
    return CampaignView(
        id=row.id,
        name=row.name,
        kind=row.kind,
        channel=row.channel,
        state=row.state,
        messages=dict(row.messages or {}),
        survey_kind=row.survey_kind,
        offer_code=row.offer_code,
        audience=dict(row.audience or {}),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        hour_from=row.hour_from,
        hour_to=row.hour_to,
        weekdays=list(row.weekdays or []),
        rate_per_minute=row.rate_per_minute,
        recurrence_days=row.recurrence_days,
        parent_id=row.parent_id,
        expanded=row.expanded,
        audience_count=row.audience_count,
        timezones=list(row.timezones or []),
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def _postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"  # type: ignore[union-attr]


async def insert(session: AsyncSession, **fields: Any) -> CampaignView:
    row = Campaign(**fields)
    session.add(row)
    await session.flush()
    return _view(row)


async def get(session: AsyncSession, campaign_id: int) -> CampaignView | None:
    row = await session.get(Campaign, campaign_id, populate_existing=True)
    return None if row is None else _view(row)


async def list_all(session: AsyncSession, limit: int = 100) -> list[CampaignView]:
    rows = await session.execute(select(Campaign).order_by(Campaign.id.desc()).limit(limit))
    return [_view(r) for r in rows.scalars()]


async def count_audience(session: AsyncSession, audience: Audience, *, kind: str, now: datetime) -> int:
    return int((await session.execute(count_query(audience, kind=kind, now=now))).scalar_one())


async def move(
    session: AsyncSession, campaign_id: int, from_states: tuple[str, ...], values: dict[str, Any]
) -> bool:
    """Change a campaign only from the given states; False when it was in another."""
    result = await session.execute(
        update(Campaign).where(Campaign.id == campaign_id, Campaign.state.in_(from_states)).values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def close_open_targets(session: AsyncSession, campaign_id: int, status: str) -> int:
    """Pending targets of a cancelled or ended campaign become final (`cancelled`, `expired`)."""
    result = await session.execute(
        update(CampaignTarget)
        .execution_options(synchronize_session=False)
        .where(CampaignTarget.campaign_id == campaign_id, CampaignTarget.status == "pending")
        .values(status=status)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- expansion -----------------------------------------------------------------------------


async def take_expansion(
    session: AsyncSession, owner: str, now: datetime, lease: timedelta
) -> CampaignView | None:
    """Take one campaign to expand: a scheduled one that is due, or one whose expander died
    (its lease ran out). The campaign runs from this moment: targets become sendable batch
    by batch as they are written."""
    query = (
        select(Campaign.id)
        .where(
            or_(
                and_(Campaign.state == "scheduled", Campaign.starts_at <= now),
                and_(
                    Campaign.state.in_(("running", "paused")),
                    Campaign.expanded.is_(False),
                    Campaign.expansion_owner.is_not(None),  # begun, then its worker died
                    or_(Campaign.expansion_until.is_(None), Campaign.expansion_until < now),
                ),
            )
        )
        .order_by(Campaign.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    campaign_id = (await session.execute(query)).scalar_one_or_none()
    if campaign_id is None:
        await session.commit()
        return None
    await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(
            state=case((Campaign.state == "scheduled", "running"), else_=Campaign.state),
            started_at=func.coalesce(Campaign.started_at, now),
            expansion_owner=owner,
            expansion_until=now + lease,
        )
    )
    await session.commit()
    return await get(session, campaign_id)


async def expansion_resume_point(session: AsyncSession, campaign_id: int) -> int:
    """Customers are written in id order, so a new expander starts after the last one written."""
    last = await session.execute(
        select(func.max(CampaignTarget.customer_id)).where(CampaignTarget.campaign_id == campaign_id)
    )
    return int(last.scalar_one() or 0)


async def max_customer_id(session: AsyncSession) -> int:
    return int((await session.execute(select(func.max(Customer.id)))).scalar_one() or 0)


async def cap_boundary(session: AsyncSession, audience: Audience, *, kind: str, now: datetime) -> int | None:
    query = audience_cap_boundary(audience, kind=kind, now=now)
    if query is None:
        return None
    return int((await session.execute(query)).scalar_one() or 0)


async def expand_batch(
    session: AsyncSession,
    campaign: CampaignView,
    audience: Audience,
    *,
    after: int,
    upto: int,
    now: datetime,
    default_timezone: str,
    owner: str,
    lease: timedelta,
) -> int:
    """Write the audience's customers with after < id ≤ upto as targets: one INSERT … SELECT.

    The channel is resolved here (Telegram where linked and not blocked, the dialer where a
    phone is known, by the campaign's channel); a customer with none is written as `skipped`
    so that the count adds up. Returns the rows written; renews the expansion lease."""
    telegram = aliased(CustomerIdentity)
    phone = aliased(CustomerIdentity)
    tg_value = case((TelegramBlockedChat.chat_id.is_(None), telegram.value), else_=None)
    channel: Any
    address: Any
    if campaign.channel == "telegram":
        channel = case((tg_value.is_not(None), "telegram"), else_="none")
        address = tg_value
    elif campaign.channel == "dialer":
        channel = case((phone.value.is_not(None), "dialer"), else_="none")
        address = phone.value
    else:  # best available: Telegram first
        channel = case(
            (tg_value.is_not(None), "telegram"), (phone.value.is_not(None), "dialer"), else_="none"
        )
        address = func.coalesce(tg_value, phone.value)
    source = (
        select(
            literal(campaign.id),
            Customer.id,
            channel,
            address,
            func.coalesce(Customer.language, "zh"),
            func.coalesce(Customer.timezone, default_timezone),
            case((channel == "none", "skipped"), else_="pending"),
            case((channel == "none", "no_channel"), else_=None),
            literal(0),
            literal(now),
        )
        .select_from(Customer)
        # The identity joins repeat the batch's id range: without it the planner hash-joins
        # every identity in the base once per batch (measured: 2.8× the plain insert).
        .outerjoin(
            telegram,
            and_(
                telegram.customer_id == Customer.id,
                telegram.kind == "telegram",
                telegram.customer_id > after,
                telegram.customer_id <= upto,
            ),
        )
        .outerjoin(TelegramBlockedChat, TelegramBlockedChat.chat_id == telegram.value)
        .outerjoin(
            phone,
            and_(
                phone.customer_id == Customer.id,
                phone.kind == "phone",
                phone.customer_id > after,
                phone.customer_id <= upto,
            ),
        )
        .where(Customer.id > after, Customer.id <= upto, *conditions(audience, kind=campaign.kind, now=now))
    )
    statement = (
        dialect_insert(session)(CampaignTarget)
        .from_select(
            [
                "campaign_id",
                "customer_id",
                "channel",
                "address",
                "language",
                "timezone",
                "status",
                "reason",
                "attempts",
                "next_attempt_at",
            ],
            source,
        )
        .on_conflict_do_nothing(index_elements=["campaign_id", "customer_id"])
    )
    written = int((await session.execute(statement)).rowcount)  # type: ignore[attr-defined]
    renewed = await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.expansion_owner == owner)
        .values(expansion_until=now + lease)
    )
    if not renewed.rowcount:  # type: ignore[attr-defined]
        await session.rollback()  # another worker took over: it writes these rows instead
        return -1
    await session.commit()
    return written


async def finish_expansion(session: AsyncSession, campaign_id: int, owner: str) -> None:
    count = (
        await session.execute(
            select(func.count()).select_from(CampaignTarget).where(CampaignTarget.campaign_id == campaign_id)
        )
    ).scalar_one()
    zones = (
        await session.execute(
            select(CampaignTarget.timezone).where(CampaignTarget.campaign_id == campaign_id).distinct()
        )
    ).scalars()
    await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.expansion_owner == owner)
        .values(expanded=True, audience_count=int(count), timezones=sorted(zones), expansion_until=None)
    )
    await session.commit()


async def add_timezones(session: AsyncSession, campaign_id: int, after: int, upto: int) -> None:
    """Make the zones of a freshly written batch known to the dispatchers at once."""
    zones = set(
        (
            await session.execute(
                select(CampaignTarget.timezone)
                .where(
                    CampaignTarget.campaign_id == campaign_id,
                    CampaignTarget.customer_id > after,
                    CampaignTarget.customer_id <= upto,
                )
                .distinct()
            )
        ).scalars()
    )
    row = await session.get(Campaign, campaign_id, populate_existing=True)
    if row is not None and not zones <= set(row.timezones or []):
        row.timezones = sorted(zones | set(row.timezones or []))
    await session.commit()


# --- dispatch --------------------------------------------------------------------------------


async def sendable_campaigns(session: AsyncSession, now: datetime) -> list[CampaignView]:
    rows = await session.execute(
        select(Campaign).where(Campaign.state == "running", Campaign.starts_at <= now).order_by(Campaign.id)
    )
    return [_view(r) for r in rows.scalars()]


async def take_tokens(session: AsyncSession, campaign_id: int, want: int, now: datetime) -> int:
    """The send rate, shared by all workers: a token bucket kept on the campaign row."""
    row = (
        await session.execute(select(Campaign).where(Campaign.id == campaign_id).with_for_update())
    ).scalar_one()
    if not row.rate_per_minute:
        await session.commit()
        return want
    per_second = row.rate_per_minute / 60
    burst = max(1.0, per_second)  # at most a second's worth at once
    elapsed = (now - row.tokens_at).total_seconds() if row.tokens_at else burst / per_second
    tokens = min(burst, row.tokens + max(elapsed, 0) * per_second)
    granted = min(want, int(tokens))
    row.tokens, row.tokens_at = tokens - granted, now
    await session.commit()
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
    """Claim due targets in open time zones and commit the claim. A claim is only a
    reservation: a worker that dies holding it sends nothing, and the sweep releases it."""
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
        await session.commit()
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
        )
    )
    claimed = [ClaimedTarget(*row, token=token) for row in rows.all()]
    await session.commit()
    claimed.sort(key=lambda t: t.id)
    return claimed


async def begin_send(
    session: AsyncSession,
    target: ClaimedTarget,
    *,
    kind: str,
    now: datetime,
    frequency_cap: timedelta,
    new_status: str = "sending",
) -> tuple[str, dict[str, Any]]:
    """Check the rules and mark the target on the wire, in one transaction the caller commits.

    Returns the verdict and what the message may say about the customer. The verdict is
    `go`, `stopped` (the campaign is no longer running: the target was released) or
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
        rules.append(
            or_(Customer.last_campaign_at.is_(None), Customer.last_campaign_at <= now - frequency_cap)
        )
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
        await session.rollback()
        await release(session, target)
        return "stopped", {}
    return "go", {"name": customer.name, "tier": customer.tier}


async def _refusal(
    session: AsyncSession, customer_id: int, *, kind: str, now: datetime, frequency_cap: timedelta
) -> str:
    row = (
        await session.execute(
            select(
                Customer.blacklisted,
                Customer.marketing_opt_out,
                Customer.merged_into_id,
                Customer.last_campaign_at,
                open_complaint_exists(Customer.id),
            ).where(Customer.id == customer_id)
        )
    ).first()
    if row is None:
        return "customer_gone"
    blacklisted, opted_out, merged, last, open_complaint = row
    if blacklisted:
        return "blacklisted"
    if opted_out:
        return "opted_out"
    if merged is not None:
        return "merged"
    if kind == "cross_sell" and open_complaint:
        return "open_complaint"
    if last is not None and last > now - frequency_cap:
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
    await session.commit()


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
    values: dict[str, Any] = {"error": error[:500] if error else None}
    if retry_at is not None:
        values.update(status="pending", next_attempt_at=retry_at, claim_token=None)
    else:
        values.update(status=status, claim_token=None)
        if status in ("sent", "answered"):
            values["sent_at"] = now
    await session.execute(
        update(CampaignTarget)
        .execution_options(synchronize_session=False)
        .where(CampaignTarget.id == target.id, CampaignTarget.claim_token == target.token)
        .values(**values)
    )
    await session.commit()


async def sweep(session: AsyncSession, now: datetime, lease: timedelta) -> dict[str, int]:
    """Leases of dead workers: an unsent claim goes back to `pending` (safe to send later);
    a target that was on the wire becomes `uncertain` and is never sent again automatically
    (Telegram cannot tell us whether it arrived); a dial with no result is dialled again.
    Per campaign, so that each statement walks the (campaign, status) index, not the table."""
    counts = {"released": 0, "uncertain": 0, "redial": 0}
    active = await session.execute(
        select(Campaign.id, Campaign.state).where(Campaign.state.in_(("running", "paused", "cancelled")))
    )
    expired = CampaignTarget.claimed_at < now - lease
    for campaign_id, state in active.all():
        this = CampaignTarget.campaign_id == campaign_id
        back = "cancelled" if state == "cancelled" else "pending"
        for key, status, values in (
            ("released", "claimed", {"status": back, "claim_token": None}),
            ("uncertain", "sending", {"status": "uncertain", "error": "the worker died while sending"}),
            (
                "redial",
                "dialing",
                {"status": back, "claim_token": None, "error": "no result from the dialer"},
            ),
        ):
            result = await session.execute(
                update(CampaignTarget)
                .execution_options(synchronize_session=False)
                .where(this, CampaignTarget.status == status, expired)
                .values(**values)
            )
            counts[key] += int(result.rowcount)  # type: ignore[attr-defined]
    await session.commit()
    return counts


async def finish_campaigns(session: AsyncSession, now: datetime) -> list[int]:
    """Running campaigns with nothing left to do, or past their end, are finished."""
    finished: list[int] = []
    rows = await session.execute(select(Campaign).where(Campaign.state.in_(("running", "paused"))))
    for campaign in rows.scalars().all():
        if campaign.ends_at is not None and campaign.ends_at <= now:
            await close_open_targets(session, campaign.id, "expired")
        elif campaign.state == "paused" or not campaign.expanded:
            continue
        open_left = (
            await session.execute(
                select(CampaignTarget.id)
                .where(CampaignTarget.campaign_id == campaign.id, CampaignTarget.status.in_(OPEN_STATES))
                .limit(1)
            )
        ).first()
        if open_left is None:
            campaign.state, campaign.finished_at = "finished", now
            finished.append(campaign.id)
    await session.commit()
    return finished


# --- the dialer ------------------------------------------------------------------------------


async def target_by_id(session: AsyncSession, target_id: int) -> CampaignTarget | None:
    return await session.get(CampaignTarget, target_id, populate_existing=True)


# --- progress --------------------------------------------------------------------------------


async def status_counts(session: AsyncSession, campaign_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(CampaignTarget.status, func.count())
        .where(CampaignTarget.campaign_id == campaign_id)
        .group_by(CampaignTarget.status)
    )
    return {str(status): int(n) for status, n in rows.all()}


async def skip_reasons(session: AsyncSession, campaign_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(CampaignTarget.reason, func.count())
        .where(CampaignTarget.campaign_id == campaign_id, CampaignTarget.status == "skipped")
        .group_by(CampaignTarget.reason)
    )
    return {str(reason): int(n) for reason, n in rows.all()}


async def sent_since(session: AsyncSession, campaign_id: int, since: datetime) -> int:
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(CampaignTarget)
                .where(
                    CampaignTarget.campaign_id == campaign_id,
                    # The status narrows the walk to the (campaign, status) index prefix.
                    CampaignTarget.status.in_(("sent", "answered")),
                    CampaignTarget.sent_at >= since,
                )
            )
        ).scalar_one()
    )


async def survey_responses(session: AsyncSession, campaign_id: int) -> tuple[int, int, float | None]:
    """(surveys sent, answered, average score) for a satisfaction campaign."""
    row = (
        await session.execute(
            select(func.count(), func.count(Survey.answered_at), func.avg(Survey.score)).where(
                Survey.campaign_id == campaign_id
            )
        )
    ).one()
    return int(row[0]), int(row[1]), None if row[2] is None else float(row[2])


async def record_conversion(session: AsyncSession, **values: Any) -> bool:
    if values.get("campaign_id") is not None:
        statement = (
            dialect_insert(session)(OfferConversion)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["customer_id", "offer_code", "campaign_id"])
        )
        return bool((await session.execute(statement)).rowcount)  # type: ignore[attr-defined]
    session.add(OfferConversion(**values))
    await session.flush()
    return True


async def conversions(session: AsyncSession, campaign_id: int) -> int:
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(OfferConversion)
                .where(OfferConversion.campaign_id == campaign_id)
            )
        ).scalar_one()
    )


async def sample_customers(
    session: AsyncSession, audience: Audience, *, kind: str, now: datetime, limit: int
) -> list[tuple[int, str, str | None, dict[str, Any]]]:
    """A few of the audience for a preview: (customer id, name, language, message context)."""
    ids = customer_ids(audience, kind=kind, now=now).order_by(Customer.id).limit(limit).subquery()
    rows = await session.execute(
        select(Customer.id, Customer.name, Customer.language, Customer.tier)
        .where(Customer.id.in_(select(ids.c.id)))
        .order_by(Customer.id)
    )
    return [
        (customer_id, name, language, {"name": name, "tier": tier})
        for customer_id, name, language, tier in rows.all()
    ]
