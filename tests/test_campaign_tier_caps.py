"""The frequency cap by tier (issue 18), on both sending paths: PostgreSQL's one statement
(`storage/campaigns/marks.py`, a follow-up) and the ORM's transaction (SQLite, and a
satisfaction campaign on either engine), through the Telegram channel to the Bot API stand-in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import campaigns
from handlers.campaigns import Policy
from storage.models import Customer
from tests.test_campaign_rules import NOW, Telegram, at, people, start, statuses, telegram

__all__ = ["people", "telegram"]  # fixtures, shared with the campaign rules' tests

# VIPs rest 14 days between two campaign messages, everyone else 7 (the default).
TIERED = Policy(
    frequency_cap=timedelta(days=7),
    frequency_cap_by_tier=(("vip", timedelta(days=14)),),
    expansion_batch=3,
    dispatch_batch=50,
    concurrency=4,
)


# The VIP (Shanghai) and a regular customer in Beijing, both on Telegram.
VIP_AND_BEIJING = {"tiers": ["vip", "regular"], "regions": ["shanghai", "beijing"]}


async def _contacted(sessions: async_sessionmaker[AsyncSession], ids: list[int], days_ago: int) -> None:
    async with sessions() as session:
        await session.execute(
            update(Customer)
            .where(Customer.id.in_(ids))
            .values(last_campaign_at=NOW - timedelta(days=days_ago))
        )
        await session.commit()


async def _run(sessions: async_sessionmaker[AsyncSession], telegram: Telegram, policy: Policy) -> None:
    while await campaigns.dispatch_once(sessions, telegram.channel, policy, at(NOW)):
        pass


@pytest.mark.parametrize("kind", ["follow_up", "satisfaction"])
async def test_a_vip_contacted_ten_days_ago_is_refused_and_a_regular_customer_is_sent_to(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram, kind: str
) -> None:
    await _contacted(sessions, [people["vip"], people["beijing"]], days_ago=10)
    campaign = await start(sessions, kind, audience=VIP_AND_BEIJING)
    await _run(sessions, telegram, TIERED)
    final = await statuses(sessions, campaign.id)
    assert final[people["vip"]] == ("skipped", "frequency_cap")
    assert final[people["beijing"]][0] == "sent"
    assert "9001" not in telegram.chats()
    assert "9002" in telegram.chats()


@pytest.mark.parametrize("kind", ["follow_up", "satisfaction"])
async def test_a_vip_contacted_fifteen_days_ago_is_sent_to_again(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram, kind: str
) -> None:
    await _contacted(sessions, [people["vip"]], days_ago=15)
    campaign = await start(sessions, kind, audience={"tiers": ["vip"]})
    await _run(sessions, telegram, TIERED)
    assert (await statuses(sessions, campaign.id))[people["vip"]][0] == "sent"
    assert telegram.chats() == ["9001"]


@pytest.mark.parametrize("kind", ["follow_up", "satisfaction"])
async def test_without_caps_by_tier_every_tier_keeps_the_single_cap(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram, kind: str
) -> None:
    await _contacted(sessions, [people["vip"], people["beijing"]], days_ago=10)
    campaign = await start(sessions, kind, audience=VIP_AND_BEIJING)
    await _run(sessions, telegram, Policy(frequency_cap=timedelta(days=7), expansion_batch=3, concurrency=4))
    final = await statuses(sessions, campaign.id)
    assert final[people["vip"]][0] == "sent"
    assert final[people["beijing"]][0] == "sent"
