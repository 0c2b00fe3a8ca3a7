"""The supervisor's campaign list: each shown campaign's progress as the page writes it, the
campaigns that may still move always shown, ended ones twenty at a time behind a link."""

from __future__ import annotations

import re
from datetime import timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Campaign, CampaignTarget, OfferConversion, Survey
from storage.models.base import utcnow
from tests.campaign_fixtures import populate
from tests.conftest import Staff

Client = TestClient[web.Request, web.Application]


def row(html: str, campaign_id: int) -> str:
    found = re.search(rf'<tr id="campaign-{campaign_id}".*?</tr>', html, re.S)
    assert found, f"campaign {campaign_id} is not on the page"
    return found.group(0)


def shown(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'<tr id="campaign-(\d+)"', html)}


async def add_campaign(
    session: AsyncSession, name: str, kind: str, state: str, outcomes: dict[str, int], customers: list[int]
) -> int:
    now = utcnow()
    campaign = Campaign(
        name=name, kind=kind, channel="telegram", state=state, expanded=state != "draft", starts_at=now
    )
    session.add(campaign)
    await session.flush()
    statuses = [status for status, n in outcomes.items() for _ in range(n)]
    for customer, status in zip(customers, statuses, strict=False):
        sent = now - timedelta(minutes=1) if status in ("sent", "answered") else None
        session.add(
            CampaignTarget(
                campaign_id=campaign.id,
                customer_id=customer,
                channel="telegram",
                timezone="Asia/Shanghai",
                status=status,
                reason="opted_out" if status == "skipped" else None,
                sent_at=sent,
            )
        )
    return campaign.id


async def test_each_campaign_shows_its_own_progress(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customers = list((await populate(sessions, utcnow())).values())
    async with sessions() as session:
        running = await add_campaign(
            session, "Running", "follow_up", "running", {"sent": 2, "pending": 1, "skipped": 1}, customers
        )
        survey = await add_campaign(
            session, "Survey", "satisfaction", "finished", {"sent": 3, "failed": 1}, customers
        )
        offer = await add_campaign(
            session, "Offer", "cross_sell", "paused", {"sent": 1, "pending": 4}, customers
        )
        draft = await add_campaign(session, "Draft", "follow_up", "draft", {}, customers)
        for n, score in enumerate((5, 3, None)):
            session.add(
                Survey(
                    customer_id=customers[n],
                    kind="csat",
                    trigger="campaign",
                    channel="telegram",
                    campaign_id=survey,
                    expires_at=utcnow() + timedelta(days=7),
                    answered_at=utcnow() if score else None,
                    score=score,
                )
            )
        session.add(
            OfferConversion(customer_id=customers[0], offer_code="TV", campaign_id=offer, channel="telegram")
        )
        await session.commit()

    page = await client.get("/supervisor/campaigns", headers=staff.supervisor)
    html = await page.text()
    assert page.status == 200
    assert shown(html) == {running, survey, offer, draft}
    assert 'id="older"' not in html

    first = row(html, running)
    assert '<span class="percent">75.0%</span>' in first
    assert '<small class="counts">3 / 4</small>' in first
    assert "Pending 1 · Sent 2 · Skipped 1" in first
    assert '<td class="rate">0.4</td>' in first  # two sends in the last five minutes
    assert '<td class="eta">–</td>' not in first

    second = row(html, survey)
    assert '<span class="percent">100.0%</span>' in second
    assert '<small class="counts">4 / 4</small>' in second
    assert "Failed 1 · Sent 3" in second
    assert '<td class="rate">0.0</td>' in second  # an ended campaign sends nothing
    assert "66.7% · avg 4.0" in second  # two of three surveys answered, scoring 5 and 3

    third = row(html, offer)
    assert '<span class="percent">20.0%</span>' in third
    assert '<small class="counts">1 / 5</small>' in third
    assert '<td class="eta">–</td>' in third  # paused: no finish to estimate

    assert '<span class="percent">0.0%</span>' in row(html, draft)


async def test_ended_campaigns_come_twenty_at_a_time_behind_a_link(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customers = list((await populate(sessions, utcnow())).values())
    async with sessions() as session:
        ended = [
            await add_campaign(
                session,
                f"Ended {n}",
                "follow_up",
                "finished" if n % 2 else "cancelled",
                {"sent": n % 3 + 1},
                customers,
            )
            for n in range(23)
        ]
        moving = await add_campaign(
            session, "Still running", "follow_up", "running", {"pending": 2}, customers
        )
        await session.commit()

    first = await (await client.get("/supervisor/campaigns", headers=staff.supervisor)).text()
    assert shown(first) == {moving, *ended[-20:]}
    older = re.search(r'<a href="(/supervisor/campaigns\?before=\d+)" id="older">Older campaigns</a>', first)
    assert older

    second = await (await client.get(older.group(1), headers=staff.supervisor)).text()
    assert shown(second) == set(ended[:3])
    assert 'id="older"' not in second
    assert '<a href="/supervisor/campaigns">Latest campaigns</a>' in second
    for n, campaign_id in enumerate(ended[:3]):
        assert f'<small class="counts">{n % 3 + 1} / {n % 3 + 1}</small>' in row(second, campaign_id)

    broken = await client.get("/supervisor/campaigns?before=x", headers=staff.supervisor)
    assert broken.status == 400
    html = await broken.text()
    assert "that link to older campaigns is broken; these are the latest" in html
    assert shown(html) == shown(first)


async def test_an_ended_campaign_keeps_its_tallies_once_nothing_can_move(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customers = list((await populate(sessions, utcnow())).values())
    async with sessions() as session:
        long_ago = await add_campaign(
            session, "Long ago", "follow_up", "finished", {"sent": 2, "skipped": 1}, customers
        )
        just_now = await add_campaign(session, "Just now", "follow_up", "cancelled", {"sent": 1}, customers)
        still_sending = await add_campaign(
            session, "Sending", "follow_up", "cancelled", {"sending": 1}, customers
        )
        for campaign_id, ended in ((long_ago, timedelta(hours=2)), (just_now, timedelta(minutes=1))):
            (await session.get(Campaign, campaign_id)).finished_at = utcnow() - ended  # type: ignore[union-attr]
        await session.commit()

    for _ in range(2):  # the second view reads the kept tallies: the same page
        html = await (await client.get("/supervisor/campaigns", headers=staff.supervisor)).text()
        assert '<small class="counts">3 / 3</small>' in row(html, long_ago)
        assert "Sent 2 · Skipped 1" in row(html, long_ago)
        assert '<small class="counts">1 / 1</small>' in row(html, just_now)
        assert '<small class="counts">0 / 1</small>' in row(html, still_sending)

    async with sessions() as session:
        kept = {
            c: (await session.get(Campaign, c)).settled_tallies for c in (long_ago, just_now, still_sending)
        }  # type: ignore[union-attr]
    assert kept == {
        long_ago: {"counts": {"sent": 2, "skipped": 1}, "skipped": {"opted_out": 1}},
        just_now: None,  # a slow send may still be recorded
        still_sending: None,
    }


def buttons(html: str, campaign_id: int) -> list[str]:
    return re.findall(r'<button name="action" value="(\w+)">', row(html, campaign_id))


async def test_each_campaign_offers_only_the_moves_its_state_allows(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customers = list((await populate(sessions, utcnow())).values())
    async with sessions() as session:
        ids = {
            state: await add_campaign(
                session, state.title(), "follow_up", state, {"sent": 1, "pending": 3}, customers
            )
            for state in ("draft", "scheduled", "running", "paused", "finished", "cancelled")
        }
        await session.commit()
    html = await (await client.get("/supervisor/campaigns", headers=staff.supervisor)).text()
    assert {state: buttons(html, campaign_id) for state, campaign_id in ids.items()} == {
        "draft": ["schedule", "cancel"],
        "scheduled": ["pause", "cancel"],
        "running": ["pause", "cancel"],
        "paused": ["resume", "cancel"],
        "finished": [],  # an ended campaign has nothing left to stop
        "cancelled": [],
    }
    assert ">Pause</button>" in row(html, ids["running"])
    assert ">Resume</button>" in row(html, ids["paused"])
    # A running campaign shows how far it has got, as a bar and as a figure.
    running = row(html, ids["running"])
    assert '<progress max="100" value="25.0"></progress>' in running
    assert '<span class="percent">25.0%</span>' in running
    assert '<small class="counts">1 / 4</small>' in running
