"""A small customer base whose campaign audiences are known by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Complaint, Contact, Customer, CustomerIdentity, Holding, Product, Survey


@dataclass(frozen=True)
class Person:
    key: str
    tier: str = "regular"
    region: str = "shanghai"
    timezone: str | None = "Asia/Shanghai"
    language: str = "zh"
    telegram: str | None = None
    phone: str | None = None
    blacklisted: bool = False
    opted_out: bool = False
    holds: tuple[str, ...] = ()


OFFER, OFFER_NAME = "broadband-1000", "Gigabit Home Broadband"

PEOPLE = (
    Person("vip", tier="vip", telegram="9001", phone="+8613800000001", holds=("FIBER",)),
    Person("beijing", region="beijing", telegram="9002", holds=("MOBILE",)),
    Person("blacklisted", tier="vip", telegram="9003", blacklisted=True),
    Person("opted_out", telegram="9004", opted_out=True),
    Person(
        "london",
        tier="preferred",
        region="london",
        timezone="Europe/London",
        language="en",
        telegram="9005",
        holds=("FIBER", "TV"),
    ),
    Person("phone_only", phone="+8613800000006"),
    Person("no_channel"),
    Person("open_complaint", telegram="9008", holds=("MOBILE",)),
    Person("unhappy", region="beijing", telegram="9009"),
    Person("recent_contact", region="beijing", telegram="9010"),
)


async def populate(sessions: async_sessionmaker[AsyncSession], now: datetime) -> dict[str, int]:
    """The people above; returns their ids by key."""
    ids: dict[str, int] = {}
    async with sessions() as session:
        products = {code: Product(code=code, name=code.title()) for code in ("FIBER", "MOBILE", "TV")}
        session.add_all(products.values())
        # An offer of the shipped catalogue (handlers/offers.toml): what a cross-sell offers.
        session.add(Product(code=OFFER, name=OFFER_NAME))
        for person in PEOPLE:
            customer = Customer(
                name=f"Customer {person.key}",
                tier=person.tier,
                region=person.region,
                timezone=person.timezone,
                language=person.language,
                blacklisted=person.blacklisted,
                marketing_opt_out=person.opted_out,
            )
            session.add(customer)
            await session.flush()
            ids[person.key] = customer.id
            if person.telegram:
                session.add(CustomerIdentity(customer_id=customer.id, kind="telegram", value=person.telegram))
            if person.phone:
                session.add(CustomerIdentity(customer_id=customer.id, kind="phone", value=person.phone))
            for code in person.holds:
                session.add(
                    Holding(
                        customer_id=customer.id,
                        product_id=(await _flushed(session, products[code])).id,
                        since=date(2024, 1, 1),
                        monthly_spend=Decimal("10"),
                    )
                )
        session.add(
            Complaint(
                ticket="CD-T-1",
                customer_id=ids["open_complaint"],
                category="network",
                channel="api",
                state="investigating",
            )
        )
        session.add(
            Complaint(
                ticket="CD-T-2",
                customer_id=ids["unhappy"],
                category="billing",
                channel="api",
                state="closed",
                resolved_at=now - timedelta(days=3),
            )
        )
        session.add(
            Survey(
                customer_id=ids["unhappy"],
                kind="csat",
                trigger="complaint",
                channel="telegram",
                expires_at=now,
                answered_at=now - timedelta(days=2),
                score=2,
            )
        )
        session.add(
            Contact(
                channel="phone",
                external_id="c-1",
                customer_id=ids["recent_contact"],
                created_at=now - timedelta(days=1),
            )
        )
        await session.commit()
    return ids


async def _flushed(session: AsyncSession, product: Product) -> Product:
    if product.id is None:
        await session.flush()
    return product
