"""Care contacts (issue 18): a care campaign greets customers on their birthday, on the
anniversary of becoming a customer and on holidays, on the day in their own time zone, once
per occasion and year, under the rules of every send; on SQLite and PostgreSQL, through the
Telegram channel to the Bot API stand-in with an injected clock."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import campaigns
from handlers.campaigns import CampaignSpec, Policy
from handlers.campaigns.care import CalendarError, load_calendar, parse_calendar
from storage.models import Campaign, CampaignTarget, Customer, CustomerIdentity
from tests.test_campaign_rules import Telegram, at, telegram

__all__ = ["telegram"]  # the Bot API stand-in's fixture

CALENDAR = parse_calendar(
    """
[birthday]
zh = "{{ name }}，生日快乐"
en = "Happy birthday, {{ name }}"
[anniversary]
zh = "{{ name }}，周年快乐"
en = "Happy anniversary, {{ name }}"
[[holiday]]
key = "founders-day"
name = { zh = "司庆日", en = "Founders' Day" }
dates = ["11-27"]
zh = "{{ name }}，司庆日快乐"
en = "Happy Founders' Day, {{ name }}"
""",
    "test",
)
POLICY = Policy(care=CALENDAR, expansion_batch=3, dispatch_batch=50, concurrency=4)

# Midnight of Thursday 26 November 2026 in Shanghai: the care run for that day starts here.
SHANGHAI_MIDNIGHT = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
SHANGHAI_10AM = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 21:00 on the 25th in New York
NEW_YORK_10AM = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 23:00 on the 26th in Shanghai


@dataclass(frozen=True)
class Person:
    key: str
    chat: str
    timezone: str | None = "Asia/Shanghai"
    language: str = "zh"
    attributes: dict[str, Any] = field(default_factory=dict)
    tier: str = "regular"
    blacklisted: bool = False
    opted_out: bool = False


PEOPLE = (
    Person("shanghai", "8001", attributes={"birthday": "1985-11-26"}),
    Person("new_york", "8002", "America/New_York", "en", {"birthday": "1990/11/26"}),
    Person("no_zone", "8003", None, attributes={"birthday": "19771126"}),
    Person("chinese_date", "8004", attributes={"birthday": "1980年11月26日"}),
    Person("without_year", "8005", language="en", attributes={"birthday": "11-26"}),
    Person("anniversary", "8006", language="en", attributes={"customer_since": "2019-11-26"}),
    Person("joined_today", "8007", attributes={"customer_since": "2026-11-26"}),
    Person("other_day", "8008", attributes={"birthday": "1985-11-27"}),
    Person("unreadable", "8009", attributes={"birthday": "26 November"}),
    Person("blacklisted", "8010", attributes={"birthday": "1985-11-26"}, blacklisted=True),
    Person("opted_out", "8011", attributes={"birthday": "1985-11-26"}, opted_out=True),
    Person("new_york_late", "8012", "America/New_York", "en", {"birthday": "1985-11-25"}),
)


async def populate(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    ids: dict[str, int] = {}
    async with sessions() as session:
        for person in PEOPLE:
            customer = Customer(
                name=person.key,
                tier=person.tier,
                timezone=person.timezone,
                language=person.language,
                attributes=person.attributes,
                blacklisted=person.blacklisted,
                marketing_opt_out=person.opted_out,
                created_at=datetime(2026, 1, 5, tzinfo=UTC),
            )
            session.add(customer)
            await session.flush()
            ids[person.key] = customer.id
            session.add(CustomerIdentity(customer_id=customer.id, kind="telegram", value=person.chat))
        await session.commit()
    return ids


async def care(
    sessions: async_sessionmaker[AsyncSession], starts_at: datetime = SHANGHAI_MIDNIGHT, **audience: Any
) -> campaigns.CampaignView:
    spec = CampaignSpec(name="Care greetings", kind="care", audience=audience, starts_at=starts_at)
    async with sessions() as session:
        campaign = await campaigns.create(session, spec, created_by=None, schedule=True, now=starts_at)
    await campaigns.expand_due(sessions, POLICY, now=starts_at)
    return campaign


async def run(sessions: async_sessionmaker[AsyncSession], telegram: Telegram, moment: datetime) -> None:
    while await campaigns.dispatch_once(sessions, telegram.channel, POLICY, at(moment)):
        pass


def texts(telegram: Telegram) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for call in telegram.api.sent():
        found.setdefault(str(call.params["chat_id"]), []).append(str(call.params["text"]))
    return found


async def test_a_birthday_is_greeted_on_the_day_in_the_customers_own_time_zone(
    sessions: async_sessionmaker[AsyncSession], telegram: Telegram
) -> None:
    await populate(sessions)
    await care(sessions)
    await run(sessions, telegram, SHANGHAI_10AM)  # the 26th in Shanghai, still the 25th in New York
    assert texts(telegram) == {
        "8001": ["shanghai，生日快乐"],
        "8003": ["no_zone，生日快乐"],  # no zone of their own: the operator's
        "8004": ["chinese_date，生日快乐"],
        "8005": ["Happy birthday, without_year"],
        "8006": ["Happy anniversary, anniversary"],
    }
    await run(sessions, telegram, NEW_YORK_10AM)  # now the 26th in New York
    assert texts(telegram)["8002"] == ["Happy birthday, new_york"]
    # The New Yorker born on the 25th was not greeted by the run for the 26th, although it
    # was already the 26th in Shanghai while it was their birthday.
    assert "8012" not in texts(telegram)
    assert len(telegram.api.sent()) == 6


async def test_a_greeting_not_sent_within_its_day_is_never_sent_late(
    sessions: async_sessionmaker[AsyncSession], telegram: Telegram
) -> None:
    ids = await populate(sessions)
    campaign = await care(sessions)
    # Nothing went out on the 26th; the next morning in Shanghai it is too late.
    await run(sessions, telegram, datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
    assert "8001" not in texts(telegram)
    await run(sessions, telegram, datetime(2026, 11, 27, 13, 0, tzinfo=UTC))  # the run has ended
    async with sessions() as session:
        status = await session.scalar(
            select(CampaignTarget.status).where(
                CampaignTarget.campaign_id == campaign.id, CampaignTarget.customer_id == ids["shanghai"]
            )
        )
        state = await session.scalar(select(Campaign.state).where(Campaign.id == campaign.id))
    assert (status, state) == ("expired", "finished")


async def test_a_holiday_greets_everyone_in_their_own_language(
    sessions: async_sessionmaker[AsyncSession], telegram: Telegram
) -> None:
    await populate(sessions)
    founders_day = SHANGHAI_MIDNIGHT + timedelta(days=1)  # the 27th
    await care(sessions, founders_day, occasions=["holiday"], tiers=["regular"])
    await run(sessions, telegram, founders_day + timedelta(hours=10))  # 10:00 in Shanghai
    await run(sessions, telegram, founders_day + timedelta(hours=23))  # 10:00 in New York
    sent = texts(telegram)
    assert sent["8001"] == ["shanghai，司庆日快乐"]
    assert sent["8002"] == ["Happy Founders' Day, new_york"]
    assert sent["8006"] == ["Happy Founders' Day, anniversary"]
    assert "8010" not in sent
    assert "8011" not in sent
    assert len(telegram.api.sent()) == len(PEOPLE) - 2


async def test_a_second_run_for_the_same_day_greets_nobody_twice(
    sessions: async_sessionmaker[AsyncSession], telegram: Telegram
) -> None:
    await populate(sessions)
    first = await care(sessions)
    await run(sessions, telegram, SHANGHAI_10AM)
    # A second care campaign on the same day (or a worker expanding the run again) adds nobody
    # already greeted for their birthday this year.
    second = await care(sessions)
    async with sessions() as session:
        await session.execute(update(Campaign).where(Campaign.id == first.id).values(expanded=False))
        await session.commit()
    await campaigns.expand_due(sessions, POLICY, now=SHANGHAI_10AM)
    await run(sessions, telegram, SHANGHAI_10AM + timedelta(hours=1))
    await run(sessions, telegram, NEW_YORK_10AM)
    assert all(len(greetings) == 1 for greetings in texts(telegram).values())
    async with sessions() as session:
        written = await session.scalar(
            select(CampaignTarget.id).where(CampaignTarget.campaign_id == second.id).limit(1)
        )
    assert written is None


async def test_blacklisted_and_opted_out_customers_are_not_greeted(
    sessions: async_sessionmaker[AsyncSession], telegram: Telegram
) -> None:
    ids = await populate(sessions)
    campaign = await care(sessions)
    async with sessions() as session:  # after the day's audience was written
        await session.execute(update(Customer).where(Customer.id == ids["shanghai"]).values(blacklisted=True))
        await session.execute(
            update(Customer).where(Customer.id == ids["chinese_date"]).values(marketing_opt_out=True)
        )
        await session.commit()
    await run(sessions, telegram, SHANGHAI_10AM)
    sent = texts(telegram)
    assert not {"8001", "8004", "8010", "8011"} & set(sent)
    async with sessions() as session:
        rows = await session.execute(
            select(CampaignTarget.customer_id, CampaignTarget.status, CampaignTarget.reason).where(
                CampaignTarget.campaign_id == campaign.id
            )
        )
        final = {customer: (status, reason) for customer, status, reason in rows.all()}
    assert final[ids["shanghai"]] == ("skipped", "blacklisted")
    assert final[ids["chinese_date"]] == ("skipped", "opted_out")
    assert ids["blacklisted"] not in final
    assert ids["opted_out"] not in final


async def test_the_care_campaign_runs_again_the_next_day(
    sessions: async_sessionmaker[AsyncSession], telegram: Telegram
) -> None:
    await populate(sessions)
    first = await care(sessions)
    async with sessions() as session:
        rows = (await session.execute(select(Campaign).order_by(Campaign.id))).scalars().all()
        following = [(r.parent_id, r.state, r.starts_at) for r in rows if r.id != first.id]
    assert following == [(first.id, "scheduled", SHANGHAI_MIDNIGHT + timedelta(days=1))]
    # The next day's run greets the customer born on the 27th and the Founders' Day for all.
    await campaigns.expand_due(sessions, POLICY, now=SHANGHAI_MIDNIGHT + timedelta(days=1))
    await run(sessions, telegram, SHANGHAI_10AM + timedelta(days=1))
    sent = texts(telegram)
    assert sent["8008"] == ["other_day，生日快乐"]
    assert sent["8001"] == ["shanghai，司庆日快乐"]


def test_the_shipped_calendar_greets_on_national_day_and_the_spring_festival() -> None:
    shipped = Policy().care
    assert shipped.holiday_on(date(2026, 10, 1)) is not None
    festival = shipped.holiday_on(date(2027, 2, 6))
    assert festival is not None
    assert festival.texts["en"].startswith("Happy Spring Festival")
    assert shipped.holiday_on(date(2026, 11, 26)) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[[holiday]]\nkey = "x"\ndates = ["13-45"]\nzh = "hi"', "is not MM-DD or YYYY-MM-DD"),
        ('[birthday]\nen = "{{ name"', "birthday.en"),
        ("[birthday\n", "care.toml"),
        ('[[holiday]]\nkey = "a.b"\ndates = ["01-01"]\nzh = "hi"', "a key without dots"),
    ],
)
def test_a_calendar_with_a_mistake_is_refused_naming_it(text: str, reason: str) -> None:
    with pytest.raises(CalendarError, match=re.escape(reason)):
        parse_calendar(text, "care.toml")


def test_a_missing_calendar_file_stops_the_start_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match=re.escape("nowhere.toml")):
        load_calendar(str(tmp_path / "nowhere.toml"))
