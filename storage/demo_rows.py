"""Writes only the demo needs: weeks of past calls and a campaign that ran, in bulk.

Live calls and campaigns go through routing and the workers; history that happened before the
demo was loaded has to be written as it would have ended up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import Campaign, CampaignTarget, Contact, Survey


@dataclass(frozen=True)
class PastCall:
    """An inbound call as the contact log holds it once it is over."""

    external_id: str
    customer_id: int | None
    from_number: str
    to_number: str
    queue: str
    priority: int
    reason: str
    skills: list[str]
    agent_id: int | None
    created_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    duration_seconds: int | None
    disposition: str | None
    ivr_digits: str | None = None


async def insert_past_calls(session: AsyncSession, calls: Sequence[PastCall]) -> None:
    """One INSERT for all; a call id logged already is left as it is (loading twice)."""
    if not calls:
        return
    rows = [
        {
            **asdict(call),
            "channel": "phone",
            "direction": "in",
            "action": "route",
            "ringing_at": call.created_at,
            "fallback": False,
            "extra": {},
        }
        for call in calls
    ]
    statement = dialect_insert(session)(Contact.__table__).on_conflict_do_nothing(
        index_elements=["channel", "external_id"]
    )
    await session.execute(statement, rows)


@dataclass(frozen=True)
class PastTarget:
    """One customer of a campaign that has run, with the outcome of its message."""

    customer_id: int
    channel: str
    address: str | None
    language: str
    timezone: str
    status: str
    reason: str | None
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    survey_id: int | None = None
    error: str | None = None


async def mark_ran(
    session: AsyncSession,
    campaign_id: int,
    *,
    started_at: datetime,
    finished_at: datetime,
    timezones: list[str],
    targets: Sequence[PastTarget],
) -> None:
    """A draft becomes a finished campaign with its targets' outcomes."""
    if targets:
        await session.execute(
            dialect_insert(session)(CampaignTarget).on_conflict_do_nothing(
                index_elements=["campaign_id", "customer_id"]
            ),
            [{**asdict(target), "campaign_id": campaign_id} for target in targets],
        )
    await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(
            state="finished",
            expanded=True,
            started_at=started_at,
            finished_at=finished_at,
            timezones=timezones,
            audience_count=len(targets),
        )
        .execution_options(synchronize_session=False)
    )


async def logged_call_ids(session: AsyncSession, prefix: str, since: datetime) -> set[str]:
    """The ids of the calls under `prefix` logged since then: loading again skips them."""
    rows = await session.execute(
        select(Contact.external_id).where(
            Contact.channel == "phone", Contact.created_at >= since, Contact.external_id.startswith(prefix)
        )
    )
    return set(rows.scalars())


async def survey_refs(session: AsyncSession, prefix: str) -> set[str]:
    """The external references of the surveys under `prefix`."""
    rows = await session.execute(select(Survey.external_ref).where(Survey.external_ref.startswith(prefix)))
    return {ref for ref in rows.scalars() if ref is not None}


@dataclass(frozen=True)
class PastSurvey:
    """A survey asked after a call, answered or not by now."""

    external_ref: str
    customer_id: int
    kind: str
    agent_id: int | None
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    score: int | None


async def insert_past_surveys(session: AsyncSession, surveys: Sequence[PastSurvey]) -> None:
    """One INSERT for all; a reference there already is left as it is."""
    if not surveys:
        return
    rows = [{**asdict(survey), "trigger": "call", "channel": "phone"} for survey in surveys]
    statement = dialect_insert(session)(Survey.__table__).on_conflict_do_nothing(
        index_elements=["external_ref"]
    )
    await session.execute(statement, rows)
