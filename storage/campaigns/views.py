"""What the campaign repository hands out: frozen copies, never a live ORM row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Campaign, CampaignTarget

# Targets in these states are still to be worked on; every other state is final.
OPEN_STATES = ("pending", "claimed", "sending", "dialing")
# A campaign in these states has ended; the others may still move.
FINAL_STATES = ("finished", "cancelled")


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
    settled_tallies: dict[str, dict[str, int]] | None = None
    questionnaire_id: int | None = None  # a satisfaction campaign's questionnaire (survey_kind quest)


@dataclass(frozen=True)
class ClaimedTarget:
    """A target a worker holds: every write to it matches on the claim token."""

    id: int
    campaign_id: int
    customer_id: int
    channel: str
    address: str | None
    language: str
    attempts: int
    token: str
    occasion: str | None = None  # a care greeting's occasion


@dataclass(frozen=True)
class TargetView:
    """One target as it stands, for the dialer's report and a tapped offer button."""

    id: int
    campaign_id: int
    customer_id: int
    channel: str
    address: str | None
    language: str
    status: str
    attempts: int
    claim_token: str | None
    survey_id: int | None

    def claimed(self) -> ClaimedTarget:
        """The claim this target is held under (the dialer reports on it)."""
        return ClaimedTarget(
            self.id,
            self.campaign_id,
            self.customer_id,
            self.channel,
            self.address,
            self.language,
            self.attempts,
            self.claim_token or "",
        )


def campaign_view(row: Campaign) -> CampaignView:
    return CampaignView(
        id=row.id,
        name=row.name,
        kind=row.kind,
        channel=row.channel,
        state=row.state,
        messages=dict(row.messages or {}),
        survey_kind=row.survey_kind,
        questionnaire_id=row.questionnaire_id,
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
        settled_tallies=row.settled_tallies,
    )


async def get(session: AsyncSession, campaign_id: int) -> CampaignView | None:
    row = await session.get(Campaign, campaign_id, populate_existing=True)
    return None if row is None else campaign_view(row)


async def target_by_id(session: AsyncSession, target_id: int) -> TargetView | None:
    row = await session.get(CampaignTarget, target_id, populate_existing=True)
    if row is None:
        return None
    return TargetView(
        id=row.id,
        campaign_id=row.campaign_id,
        customer_id=row.customer_id,
        channel=row.channel,
        address=row.address,
        language=row.language,
        status=row.status,
        attempts=row.attempts,
        claim_token=row.claim_token,
        survey_id=row.survey_id,
    )
