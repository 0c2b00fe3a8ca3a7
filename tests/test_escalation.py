"""Breached deadlines escalate to supervisors exactly once, even with two workers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.bootstrap import Bootstrap
from callcenter.complaints_setup import run_deadline_check
from callcenter.keys import SESSIONS
from callcenter.settings import Settings
from handlers import complaints
from handlers.complaints import ComplaintPolicy
from handlers.customers import NewCustomer, create_customer
from storage.db import create_sessionmaker
from storage.models import ComplaintEvent
from storage.models.surveys import Alert
from tests.conftest import Staff

POLICY = ComplaintPolicy()  # the default rules, passed as every adapter passes its own

LONG_AGO = datetime(2026, 1, 5, 9, tzinfo=UTC)  # a Monday


async def _complaints(sessions: async_sessionmaker[AsyncSession], n: int) -> list[int]:
    ids = []
    async with sessions() as session:
        customer = await create_customer(session, None, NewCustomer(name="x", phones=("13800000001",)))
        for _ in range(n):
            lodged = await complaints.lodge(
                session,
                customer_id=customer.id,
                category="billing",
                description="double charge",
                channel="phone",
                now=LONG_AGO,
                policy=POLICY,
            )
            ids.append(lodged.id)
    return ids


async def test_a_breached_deadline_escalates_once_however_often_the_worker_runs(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    [cid] = await _complaints(sessions, 1)
    async with sessions() as session:
        first = await complaints.escalate_due(session)
        again = await complaints.escalate_due(session)
    assert sorted(e.kind for e in first) == ["acknowledge", "resolve"]
    assert again == []
    async with sessions() as session:
        detail = await complaints.get(session, cid)
    assert [e.kind for e in detail.events].count("escalated") == 2


async def test_a_met_deadline_does_not_escalate(sessions: async_sessionmaker[AsyncSession]) -> None:
    [cid] = await _complaints(sessions, 1)
    async with sessions() as session:
        from handlers.accounts import save_user

        agent = await save_user(session, "agent1", "pw", role="agent")
        await complaints.transition(
            session, agent, cid, "acknowledged", now=LONG_AGO + timedelta(hours=1), policy=POLICY
        )
        escalated = await complaints.escalate_due(session)
    assert [e.kind for e in escalated] == ["resolve"]


@pytest.mark.postgres
async def test_two_workers_on_postgresql_never_escalate_the_same_deadline_twice(
    postgres_database: str,
) -> None:
    from storage.db import create_engine
    from tests.conftest import empty_tables

    engines: list[AsyncEngine] = [create_engine(postgres_database) for _ in range(2)]
    await empty_tables(engines[0])
    try:
        ids = await _complaints(create_sessionmaker(engines[0]), 40)

        async def worker(engine: AsyncEngine) -> int:
            total = 0
            async with create_sessionmaker(engine)() as session:
                while batch := await complaints.escalate_due(session, limit=5):
                    total += len(batch)
                    await asyncio.sleep(0)
            return total

        counts = await asyncio.gather(*(worker(e) for e in engines))
        assert sum(counts) == 2 * len(ids)
        async with create_sessionmaker(engines[0])() as session:
            escalations = (
                await session.execute(select(func.count()).where(ComplaintEvent.kind == "escalated"))
            ).scalar_one()
            alerts = (await session.execute(select(func.count()).select_from(Alert))).scalar_one()
        assert escalations == alerts == 2 * len(ids)
    finally:
        for engine in engines:
            await engine.dispose()


async def test_escalations_reach_the_supervisor_alerts_and_metrics(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], staff: Staff
) -> None:
    await _complaints(sessions, 1)
    boot = Bootstrap(settings)
    app = create_app(boot=boot)
    async with TestClient(TestServer(app)) as client:
        deadline_check = run_deadline_check(app[SESSIONS], boot.policies.targets, boot.complaint_metrics)
        assert await deadline_check == 2
        alerts = await (await client.get("/api/v1/alerts", headers=staff.supervisor)).json()
        # Both deadlines escalated; the complaint has one open alert, the latest breach.
        [alert] = alerts["alerts"]
        assert "was not resolved by" in alert["message"]
        assert (await client.get("/api/v1/alerts", headers=staff.agent)).status == 403
        metrics = await (await client.get("/metrics")).text()
        assert 'contactdesk_complaint_escalations_total{deadline="acknowledge"} 1.0' in metrics
