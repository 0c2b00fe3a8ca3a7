"""The satisfaction report against figures counted by hand on a small fixture."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import complaints, surveys
from handlers.accounts import save_user
from handlers.complaints import ComplaintPolicy
from handlers.customers import NewCustomer, create_customer
from tests.conftest import Staff
from tests.test_customers_api import Client

POLICY = ComplaintPolicy()  # the default rules, passed as every adapter passes its own

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)  # a Monday


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


async def build_fixture(session: AsyncSession) -> None:
    agent = await save_user(session, "fixture-agent", "pw", role="agent")
    vip = await create_customer(session, None, NewCustomer(name="A", phones=("13800000001",), tier="vip"))
    regular = await create_customer(session, None, NewCustomer(name="B", phones=("13800000002",)))

    async def survey(customer_id: int, kind: str, score: int | None) -> None:
        sent = await surveys.send_survey(
            session, customer_id=customer_id, kind=kind, trigger="periodic", channel="phone", now=at(1)
        )
        if score is not None:
            await surveys.answer(session, sent.id, score, now=at(2))

    for score in (5, 3):
        await survey(vip.id, "csat", score)
    await survey(vip.id, "nps", 10)
    await survey(vip.id, "nps", None)
    await survey(regular.id, "csat", 4)
    await survey(regular.id, "nps", 6)
    await survey(regular.id, "nps", 8)

    async def resolve(complaint_id: int, start: float, hours: float) -> None:
        await complaints.transition(
            session, agent, complaint_id, "acknowledged", now=at(start + 0.5), policy=POLICY
        )
        await complaints.transition(
            session, agent, complaint_id, "investigating", now=at(start + 1), policy=POLICY
        )
        await complaints.transition(
            session, agent, complaint_id, "resolved", resolution="fixed", now=at(hours), policy=POLICY
        )

    a = await complaints.lodge(
        session,
        customer_id=vip.id,
        category="network",
        description="x",
        channel="phone",
        now=at(0),
        policy=POLICY,
    )
    await resolve(a.id, 0, 10)
    b1 = await complaints.lodge(
        session,
        customer_id=regular.id,
        category="billing",
        description="y",
        channel="telegram",
        now=at(0),
        policy=POLICY,
    )
    await resolve(b1.id, 0, 30)
    await complaints.customer_satisfied(session, regular.id, b1.id, False, now=at(31), policy=POLICY)
    await complaints.transition(session, agent, b1.id, "investigating", now=at(32), policy=POLICY)
    await complaints.transition(
        session, agent, b1.id, "resolved", resolution="refund", now=at(50), policy=POLICY
    )
    await complaints.lodge(
        session,
        customer_id=regular.id,
        category="billing",
        description="z",
        channel="phone",
        severity="urgent",
        now=at(0),
        policy=POLICY,
    )
    await complaints.escalate_due(session, now=at(20 * 24))


async def test_report_figures_match_the_hand_count(sessions: async_sessionmaker[AsyncSession]) -> None:
    from handlers.reports import satisfaction

    async with sessions() as session:
        await build_fixture(session)
        [overall] = await satisfaction(session, at(-24), at(30 * 24))
        by_tier = {row.group: row for row in await satisfaction(session, at(-24), at(30 * 24), "tier")}

    assert (overall.surveys_sent, overall.responses, overall.response_rate) == (7, 6, 0.8571)
    assert (overall.csat_responses, overall.csat_average, overall.csat_satisfied_share) == (3, 4.0, 0.6667)
    assert (overall.nps_responses, overall.nps) == (3, 0.0)
    assert (overall.complaints, overall.reopened, overall.reopen_rate) == (3, 1, 0.3333)
    assert overall.median_hours_to_resolve == 30.0
    assert overall.deadline_breaches == 2

    vip, regular = by_tier["vip"], by_tier["regular"]
    assert (vip.surveys_sent, vip.responses, vip.response_rate) == (4, 3, 0.75)
    assert (vip.csat_average, vip.csat_satisfied_share, vip.nps) == (4.0, 0.5, 100.0)
    assert (vip.complaints, vip.median_hours_to_resolve, vip.deadline_breaches) == (1, 10.0, 0)
    assert (regular.response_rate, regular.csat_satisfied_share, regular.nps) == (1.0, 1.0, -50.0)
    assert (regular.complaints, regular.reopen_rate, regular.median_hours_to_resolve) == (2, 0.5, 50.0)
    assert regular.deadline_breaches == 2


async def test_the_report_endpoint_groups_by_channel_for_supervisors_only(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        await build_fixture(session)
    params = {"from": "2026-11-01", "to": "2026-12-05", "group_by": "channel"}
    assert (
        await client.get("/api/v1/reports/satisfaction", params=params, headers=staff.agent)
    ).status == 403
    response = await client.get("/api/v1/reports/satisfaction", params=params, headers=staff.supervisor)
    assert response.status == 200
    rows = {r["group"]: r for r in (await response.json())["rows"]}
    assert rows["phone"]["complaints"] == 2
    assert rows["telegram"]["complaints"] == 1
    assert rows["phone"]["surveys_sent"] == 7

    bad = await client.get(
        "/api/v1/reports/satisfaction", params={"group_by": "moon"}, headers=staff.supervisor
    )
    assert bad.status == 400
    assert "tier" in (await bad.json())["details"]["allowed"]
