"""Callers of every kind and available agents, for the routing tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import complaints
from handlers.accounts import save_user
from handlers.complaints import ComplaintPolicy
from handlers.customers import NewCustomer, create_customer
from storage.customers import update_fields
from storage.models.base import utcnow
from storage.routing import presence, queues

POLICY = ComplaintPolicy()  # the default rules, passed as every adapter passes its own


@dataclass(frozen=True)
class Callers:
    vip: int
    preferred: int
    regular: int
    blacklisted: int
    english: int
    complainer: int


QUEUES = ("vip", "complaints", "english", "general", "overflow")


async def seed(sessions: async_sessionmaker[AsyncSession]) -> Callers:
    async with sessions() as session:
        ids = {}
        for key, phone, tier, language in (
            ("vip", "13800000001", "vip", "zh"),
            ("preferred", "13800000002", "preferred", "zh"),
            ("regular", "13800000004", "regular", "zh"),
            ("blacklisted", "13800000666", "regular", "zh"),
            ("english", "13800000003", "regular", "en"),
            ("complainer", "13800000005", "regular", "zh"),
        ):
            customer = await create_customer(
                session, None, NewCustomer(name=key, phones=(phone,), tier=tier, language=language)
            )
            ids[key] = customer.id
        await update_fields(session, ids["blacklisted"], blacklisted=True, blacklist_reason="abuse")
        await session.commit()
        await complaints.lodge(
            session,
            customer_id=ids["complainer"],
            category="billing",
            description="wrong bill",
            channel="phone",
            policy=POLICY,
        )
        for name in QUEUES:
            await queues.upsert_queue(session, name)
        now = utcnow()
        for i, (login, skills, languages) in enumerate(
            (
                ("agent1", ("general", "complaints", "vip"), ("zh", "en")),
                ("agent2", ("general", "billing"), ("zh",)),
            )
        ):
            user = await save_user(session, login, "pw", role="agent", skills=skills, languages=languages)
            # agent1 has been idle longest
            await presence.set_agent_state(session, user.id, "available", now - timedelta(minutes=10 - i))
        await session.commit()
    return Callers(**ids)
