"""Campaign audiences and the rules every send obeys, on SQLite and PostgreSQL, sending
through the real Telegram channel to a local Bot API stand-in with an injected clock."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sender import RateLimiter, TelegramChannel
from handlers import campaigns, surveys
from handlers.campaigns import CampaignSpec, Policy
from handlers.errors import Conflict, InvalidInput
from storage.models import Campaign, CampaignTarget, Complaint, Customer, Survey
from tests.campaign_fixtures import OFFER, OFFER_NAME, populate
from tests.telegram_standin import BotApiStandIn, bot_api

# A Wednesday, 10:00 in Shanghai (02:00 in London).
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
POLICY = Policy(frequency_cap=timedelta(days=7), expansion_batch=3, dispatch_batch=50, concurrency=4)


@dataclass
class Telegram:
    api: BotApiStandIn
    channel: TelegramChannel

    def chats(self) -> list[str]:
        return sorted(str(c.params["chat_id"]) for c in self.api.sent())


@pytest.fixture
async def telegram() -> AsyncIterator[Telegram]:
    async with bot_api() as api:
        bot = Bot("123456:TEST", session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
        try:
            yield Telegram(api, TelegramChannel(bot, RateLimiter(0, 0)))
        finally:
            await bot.session.close()


@pytest.fixture
async def people(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    return await populate(sessions, NOW)


def at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


async def start(
    sessions: async_sessionmaker[AsyncSession], kind: str = "follow_up", **fields: Any
) -> campaigns.CampaignView:
    spec = CampaignSpec(
        name=fields.pop("name", "test"),
        kind=kind,
        messages=fields.pop("messages", {"zh": "{{ name }}，您好", "en": "Hello {{ name }}"}),
        survey_kind="csat" if kind == "satisfaction" else None,
        offer_code=OFFER if kind == "cross_sell" else None,
        starts_at=fields.pop("starts_at", NOW - timedelta(minutes=1)),
        **fields,
    )
    async with sessions() as session:
        campaign = await campaigns.create(session, spec, created_by=None, schedule=True, now=NOW)
    await campaigns.expand_due(sessions, POLICY, now=NOW)
    return campaign


async def run(
    sessions: async_sessionmaker[AsyncSession], telegram: Telegram, clock: datetime = NOW
) -> dict[str, int]:
    total: dict[str, int] = {}
    while outcomes := await campaigns.dispatch_once(sessions, telegram.channel, POLICY, at(clock)):
        for key, value in outcomes.items():
            total[key] = total.get(key, 0) + value
    return total


async def statuses(
    sessions: async_sessionmaker[AsyncSession], campaign_id: int
) -> dict[int, tuple[str, Any]]:
    async with sessions() as session:
        rows = await session.execute(
            select(CampaignTarget.customer_id, CampaignTarget.status, CampaignTarget.reason).where(
                CampaignTarget.campaign_id == campaign_id
            )
        )
        return {customer: (status, reason) for customer, status, reason in rows.all()}


# --- audiences -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "audience", "expected"),
    [
        (
            "follow_up",
            {},
            {
                "vip",
                "beijing",
                "london",
                "phone_only",
                "no_channel",
                "open_complaint",
                "unhappy",
                "recent_contact",
            },
        ),
        ("follow_up", {"tiers": ["vip"]}, {"vip"}),
        ("follow_up", {"regions": ["beijing"]}, {"beijing", "unhappy", "recent_contact"}),
        ("follow_up", {"holds": ["FIBER"]}, {"vip", "london"}),
        ("follow_up", {"holds": ["MOBILE"], "lacks": ["FIBER"]}, {"beijing", "open_complaint"}),
        ("follow_up", {"last_contact_after": "2026-11-23"}, {"recent_contact"}),
        (
            "follow_up",
            {"last_contact_before": "2026-11-23", "regions": ["beijing"]},
            {"beijing", "unhappy"},
        ),
        ("follow_up", {"complaint_resolved_within_days": 7}, {"unhappy"}),
        ("follow_up", {"complaint_resolved_within_days": 2}, set()),
        ("satisfaction", {"csat_at_most": 3}, {"unhappy"}),
        ("satisfaction", {"csat_at_most": 1}, set()),
        (
            "cross_sell",
            {},
            {"vip", "beijing", "london", "phone_only", "no_channel", "unhappy", "recent_contact"},
        ),
        ("follow_up", {"regions": ["shanghai"], "cap": 2}, {"vip", "phone_only"}),
    ],
)
async def test_an_audience_is_who_the_filters_say(
    sessions: async_sessionmaker[AsyncSession],
    people: dict[str, int],
    kind: str,
    audience: dict[str, Any],
    expected: set[str],
) -> None:
    async with sessions() as session:
        count = await campaigns.count_audience(session, kind, audience, now=NOW)
    campaign = await start(sessions, kind, audience=audience)
    written = {customer for customer in await statuses(sessions, campaign.id)}
    names = {key for key, value in people.items() if value in written}
    assert (count, names) == (len(expected), expected)
    assert campaign.audience_count == len(expected)


async def test_a_sample_is_the_same_customers_every_time(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    eligible = [v for k, v in people.items() if k not in ("blacklisted", "opted_out")]
    expected = {i for i in eligible if (i * 7919 + 77) % 10_000 < 5_000}
    audience = {"sample_share": 0.5, "sample_seed": 77}
    async with sessions() as session:
        assert await campaigns.count_audience(session, "follow_up", audience, now=NOW) == len(expected)
    campaign = await start(sessions, audience=audience)
    assert set(await statuses(sessions, campaign.id)) == expected


async def test_bad_filters_are_refused_with_the_reason(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    async with sessions() as session:
        with pytest.raises(InvalidInput, match="unknown audience filter: colour"):
            await campaigns.count_audience(session, "follow_up", {"colour": "red"})
        with pytest.raises(InvalidInput, match="sample_share"):
            await campaigns.count_audience(session, "follow_up", {"sample_share": 2})
        with pytest.raises(InvalidInput, match="date"):
            await campaigns.count_audience(session, "follow_up", {"last_contact_before": "yesterday"})


# --- the rules of sending ------------------------------------------------------------


async def test_everyone_reachable_gets_the_message_once_in_their_language(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram
) -> None:
    campaign = await start(sessions)
    await run(sessions, telegram, NOW)  # 10:00 in Shanghai
    await run(sessions, telegram, NOW + timedelta(hours=10))  # 10:00 in London
    texts = {str(c.params["chat_id"]): c.text for c in telegram.api.sent()}
    assert texts == {
        "9001": "Customer vip，您好",
        "9002": "Customer beijing，您好",
        "9005": "Hello Customer london",
        "9008": "Customer open_complaint，您好",
        "9009": "Customer unhappy，您好",
        "9010": "Customer recent_contact，您好",
    }
    assert len(telegram.api.sent()) == 6
    final = await statuses(sessions, campaign.id)
    assert final[people["no_channel"]] == ("skipped", "no_channel")
    assert final[people["phone_only"]] == ("skipped", "no_channel")  # a Telegram campaign
    assert people["blacklisted"] not in final
    assert people["opted_out"] not in final


async def test_a_customer_blacklisted_or_opted_out_after_the_start_is_not_sent_to(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram
) -> None:
    campaign = await start(sessions)
    async with sessions() as session:
        (await session.get(Customer, people["vip"])).blacklisted = True  # type: ignore[union-attr]
        (await session.get(Customer, people["beijing"])).marketing_opt_out = True  # type: ignore[union-attr]
        await session.commit()
    await run(sessions, telegram)
    assert "9001" not in telegram.chats()
    assert "9002" not in telegram.chats()
    final = await statuses(sessions, campaign.id)
    assert final[people["vip"]] == ("skipped", "blacklisted")
    assert final[people["beijing"]] == ("skipped", "opted_out")


async def test_one_campaign_message_per_customer_per_frequency_window(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram
) -> None:
    first = await start(sessions, name="first", audience={"tiers": ["vip"]})
    await run(sessions, telegram)
    second = await start(sessions, name="second", audience={"regions": ["shanghai"]})
    await run(sessions, telegram)
    assert telegram.chats().count("9001") == 1
    assert (await statuses(sessions, first.id))[people["vip"]][0] == "sent"
    assert (await statuses(sessions, second.id))[people["vip"]] == ("skipped", "frequency_cap")
    # A week later the cap has passed: a third campaign reaches them again.
    later = NOW + timedelta(days=7)
    third = await start(sessions, name="third", audience={"tiers": ["vip"]}, starts_at=later)
    await campaigns.expand_due(sessions, POLICY, now=later)
    await run(sessions, telegram, later)
    assert telegram.chats().count("9001") == 2
    assert (await statuses(sessions, third.id))[people["vip"]][0] == "sent"


async def test_the_same_campaign_never_reaches_a_customer_twice(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram
) -> None:
    campaign = await start(sessions, audience={"tiers": ["vip"]})
    await run(sessions, telegram)
    async with sessions() as session:  # a second expansion of the same campaign adds nobody
        row = await session.get(Campaign, campaign.id)
        assert row is not None
        row.expanded, row.expansion_until = False, None
        await session.commit()
    await campaigns.expand_due(sessions, POLICY, now=NOW + timedelta(days=30))
    await run(sessions, telegram, NOW + timedelta(days=30))
    assert telegram.chats() == ["9001"]


async def test_a_cross_sell_never_goes_to_a_customer_with_an_open_complaint(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram
) -> None:
    campaign = await start(sessions, "cross_sell", audience={"regions": ["beijing"]})
    async with sessions() as session:  # a complaint lodged after the audience was written
        session.add(
            Complaint(
                ticket="CD-T-9",
                customer_id=people["beijing"],
                category="billing",
                channel="api",
                state="received",
            )
        )
        await session.commit()
    await run(sessions, telegram)
    assert telegram.chats() == ["9009", "9010"]
    assert (await statuses(sessions, campaign.id))[people["beijing"]] == ("skipped", "open_complaint")
    assert people["open_complaint"] not in await statuses(sessions, campaign.id)


async def test_quiet_hours_follow_each_customers_time_zone(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram
) -> None:
    await start(sessions, audience={"tiers": ["vip", "preferred"]}, hour_from=9, hour_to=18)
    await run(sessions, telegram, NOW)  # 10:00 Shanghai, 02:00 London
    assert telegram.chats() == ["9001"]
    await run(sessions, telegram, NOW + timedelta(hours=9))  # 19:00 Shanghai, 11:00 London
    assert telegram.chats() == ["9001", "9005"]


async def test_allowed_weekdays_hold_the_campaign_until_the_next_allowed_day(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram
) -> None:
    await start(sessions, audience={"tiers": ["vip"]}, weekdays=(5, 6))  # weekends only
    await run(sessions, telegram, NOW)  # Wednesday
    assert telegram.chats() == []
    await run(sessions, telegram, NOW + timedelta(days=3))  # Saturday, 10:00 Shanghai
    assert telegram.chats() == ["9001"]


async def test_pause_stops_sending_and_resume_goes_on_where_it_stopped(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram
) -> None:
    campaign = await start(sessions, audience={"regions": ["shanghai", "beijing"]})
    async with sessions() as session:
        await campaigns.act(session, campaign.id, "pause")
    assert await run(sessions, telegram) == {}
    assert telegram.chats() == []
    async with sessions() as session:
        with pytest.raises(Conflict):
            await campaigns.act(session, campaign.id, "pause")
        await campaigns.act(session, campaign.id, "resume")
    await run(sessions, telegram)
    assert len(telegram.chats()) == 5
    async with sessions() as session:
        progress = await campaigns.progress(session, campaign.id, now=NOW)
        assert (await campaigns.get(session, campaign.id)).state == "finished"
    assert (progress["counts"]["sent"], progress["remaining"], progress["percent"]) == (5, 0, 100.0)


async def test_cancel_closes_what_is_left(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram
) -> None:
    campaign = await start(sessions)
    async with sessions() as session:
        await campaigns.act(session, campaign.id, "cancel")
        progress = await campaigns.progress(session, campaign.id, now=NOW)
    await run(sessions, telegram)
    assert telegram.chats() == []
    assert progress["counts"] == {"cancelled": 6, "skipped": 2}


async def test_a_blocked_chat_is_recorded_and_the_rest_go_on(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram
) -> None:
    campaign = await start(sessions, audience={"regions": ["beijing"]})
    telegram.api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    await run(sessions, telegram)
    final = await statuses(sessions, campaign.id)
    assert sorted(s for s, _ in final.values()) == ["blocked", "sent", "sent"]


async def test_a_satisfaction_campaign_creates_surveys_whose_answers_give_the_response_rate(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram
) -> None:
    campaign = await start(sessions, "satisfaction", messages={}, audience={"regions": ["beijing"]})
    await run(sessions, telegram)
    sent = telegram.api.sent()
    assert all("1 = " in c.text for c in sent)  # the standard CSAT question in Chinese
    buttons = [b["callback_data"] for b in sent[0].markup["inline_keyboard"][0]]
    assert len(buttons) == 5
    assert buttons[0].startswith("csat:")
    async with sessions() as session:
        survey_ids = (
            (await session.execute(select(Survey.id).where(Survey.campaign_id == campaign.id)))
            .scalars()
            .all()
        )
        await surveys.answer(session, survey_ids[0], 4, now=NOW)
        progress = await campaigns.progress(session, campaign.id, now=NOW)
    assert progress["responses"] == {
        "surveys": 3,
        "answered": 1,
        "response_rate": 0.333,
        "average_score": 4.0,
    }


async def test_an_expansion_cut_off_by_a_dead_worker_is_finished_by_another(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram
) -> None:
    from storage.campaign_audience import Audience
    from storage.campaigns import expansion as repo

    spec = CampaignSpec(
        name="big", kind="follow_up", messages={"zh": "您好"}, starts_at=NOW - timedelta(minutes=1)
    )
    async with sessions() as session:
        campaign = await campaigns.create(session, spec, created_by=None, schedule=True, now=NOW)
        # A worker takes the expansion, writes the first batch and dies.
        taken = await repo.take_expansion(session, "dead", NOW, POLICY.lease)
        await session.commit()
        assert taken is not None
        await repo.expand_batch(
            session,
            taken,
            Audience(),
            after=0,
            upto=3,
            now=NOW,
            default_timezone="Asia/Shanghai",
            owner="dead",
            lease=POLICY.lease,
        )
        await session.commit()
    # Within its lease nobody else touches it; after it, another worker finishes the job.
    assert await campaigns.expand_due(sessions, POLICY, now=NOW + timedelta(seconds=10)) == 0
    later = NOW + POLICY.lease + timedelta(seconds=1)
    await campaigns.expand_due(sessions, POLICY, now=later)
    async with sessions() as session:
        done = await campaigns.get(session, campaign.id)
    assert (done.expanded, done.audience_count) == (True, 8)
    assert len(await statuses(sessions, campaign.id)) == 8


async def test_a_recurring_campaign_schedules_its_next_run_when_it_starts(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    first = await start(sessions, audience={"tiers": ["vip"]}, recurrence_days=90)
    async with sessions() as session:
        following = [c for c in await campaigns.list_all(session) if c.parent_id == first.id]
    assert [(c.state, c.starts_at - first.starts_at, c.recurrence_days) for c in following] == [
        ("scheduled", timedelta(days=90), 90)
    ]


async def test_targets_a_worker_holds_when_the_campaign_is_cancelled_end_cancelled_unsent(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram
) -> None:
    from storage.campaigns import dispatch as repo

    campaign = await start(sessions, audience={"regions": ["beijing"]})
    async with sessions() as session:
        running = await campaigns.get(session, campaign.id)
        held = await repo.claim(
            session, campaign.id, ["Asia/Shanghai"], channel="telegram", limit=10, token="w1", now=NOW
        )
        await session.commit()
        await campaigns.act(session, campaign.id, "cancel")
    for target in held:  # the worker goes on with what it claimed before the cancel
        await campaigns.send_one(sessions, running, target, telegram.channel, POLICY, at(NOW))
    assert telegram.chats() == []
    assert {status for status, _ in (await statuses(sessions, campaign.id)).values()} == {"cancelled"}


async def test_targets_a_worker_holds_when_the_campaign_is_paused_go_back_unsent_and_go_out_on_resume(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram
) -> None:
    from storage.campaigns import dispatch as repo

    campaign = await start(sessions, audience={"regions": ["beijing"]})
    async with sessions() as session:
        running = await campaigns.get(session, campaign.id)
        held = await repo.claim(
            session, campaign.id, ["Asia/Shanghai"], channel="telegram", limit=10, token="w1", now=NOW
        )
        await session.commit()
        await campaigns.act(session, campaign.id, "pause")
    for target in held:
        assert (
            await campaigns.send_one(sessions, running, target, telegram.channel, POLICY, at(NOW))
            == "pending"
        )
    assert telegram.chats() == []
    assert {status for status, _ in (await statuses(sessions, campaign.id)).values()} == {"pending"}
    async with sessions() as session:
        await campaigns.act(session, campaign.id, "resume")
    await run(sessions, telegram)
    assert len(telegram.chats()) == len(held)


async def test_a_cross_sell_names_the_offer_as_customers_know_it_never_by_its_code(
    sessions: async_sessionmaker[AsyncSession], people: dict[str, int], telegram: Telegram
) -> None:
    await start(
        sessions,
        "cross_sell",
        audience={"regions": ["beijing"]},
        messages={"zh": "{{ name }}，推荐您{{ offer }}", "en": "{{ name }}, try {{ offer }}"},
    )
    await run(sessions, telegram)
    sent = telegram.api.sent()
    assert sorted(str(call.params["text"]) for call in sent) == [
        f"Customer {who}，推荐您{OFFER_NAME}" for who in ("beijing", "recent_contact", "unhappy")
    ]
    assert not [call for call in sent if OFFER in json.dumps(call.params, ensure_ascii=False)]
