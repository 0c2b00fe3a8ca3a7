"""The cross-sell ranking against a fixture whose answer is known."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import complaints
from handlers.complaints import ComplaintPolicy
from handlers.customers import NewCustomer, create_customer
from handlers.demo import PRODUCTS
from handlers.offers import best_offer, shipped_catalogue
from storage import customers as repo

POLICY = ComplaintPolicy()  # the default rules, passed as every adapter passes its own


async def build(session: AsyncSession) -> int:
    ids = {
        code: await repo.get_or_create_product(session, code, name, cat, price)
        for code, name, cat, price in PRODUCTS
    }

    async def customer(phone: str, *codes: str) -> int:
        record = await create_customer(session, None, NewCustomer(name=phone, phones=(phone,)))
        for code in codes:
            await repo.set_holding(session, record.id, ids[code], date(2024, 1, 1), Decimal("10"))
        await session.commit()
        return record.id

    target = await customer("13800000001", "mobile-basic")
    await customer("13800000002", "mobile-basic", "cloud-200")
    await customer("13800000003", "mobile-basic", "cloud-200")
    await customer("13800000004", "mobile-basic", "iptv")
    await customer("13800000005", "broadband-100", "mobile-unlimited", "iptv", "broadband-1000")
    return target


@pytest.fixture
async def target(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return await build(session)


async def test_the_offer_is_what_similar_customers_hold_most(
    sessions: async_sessionmaker[AsyncSession], target: int
) -> None:
    async with sessions() as session:
        offer = await best_offer(session, target, today=date(2026, 11, 25))
    assert offer is not None
    assert (offer.code, offer.name, offer.peers) == ("cloud-200", "Cloud Storage 200GB", 2)


async def test_eligibility_rules_exclude_what_the_catalogue_forbids(
    sessions: async_sessionmaker[AsyncSession], target: int
) -> None:
    from handlers.offers import Offer

    catalogue = (Offer("broadband-1000", requires=("broadband-100",)), Offer("iptv", min_tenure_days=5000))
    async with sessions() as session:
        assert await best_offer(session, target, catalogue=catalogue, today=date(2026, 11, 25)) is None


async def test_no_offer_to_a_customer_with_an_open_complaint(
    sessions: async_sessionmaker[AsyncSession], target: int
) -> None:
    async with sessions() as session:
        await complaints.lodge(
            session, customer_id=target, category="billing", description="x", channel="api", policy=POLICY
        )
        assert await best_offer(session, target) is None


def test_the_shipped_catalogue_is_read_once_not_on_every_screen_pop(monkeypatch: pytest.MonkeyPatch) -> None:
    first = shipped_catalogue()
    assert first  # the shipped file has offers
    monkeypatch.setattr("handlers.offers.resources", None)  # a second read would fail
    assert shipped_catalogue() is first
