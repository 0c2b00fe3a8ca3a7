from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import complaints, surveys
from handlers.accounts import save_user
from handlers.complaints import ComplaintPolicy
from handlers.customers import NewCustomer, create_customer
from storage.complaints import ComplaintView
from storage.models.base import utcnow
from storage.users import UserRecord
from tests.conftest import Staff
from tests.test_customers_api import Client

POLICY = ComplaintPolicy()  # the default rules, passed as every adapter passes its own


async def test_the_supervisor_sees_the_trend_overdue_complaints_and_a_low_score_alert(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    async with sessions() as session:
        customer = await create_customer(
            session, None, NewCustomer(name="<script>x</script>", phones=("13800000001",))
        )
        await complaints.lodge(
            session,
            customer_id=customer.id,
            category="network",
            description="old",
            channel="phone",
            now=now - timedelta(days=20),
            policy=POLICY,
        )
        await complaints.lodge(
            session,
            customer_id=customer.id,
            category="network",
            description="new",
            channel="phone",
            now=now - timedelta(hours=2),
            policy=POLICY,
        )
        sent = await surveys.send_survey(
            session,
            customer_id=customer.id,
            kind="csat",
            trigger="call",
            channel="phone",
            now=now - timedelta(days=1),
        )
        await surveys.answer(session, sent.id, 2)
        await complaints.escalate_due(session)

    assert (await client.get("/supervisor/satisfaction", headers=staff.agent)).status == 403
    response = await client.get("/supervisor/satisfaction", headers=staff.supervisor)
    assert response.status == 200
    page = await response.text()
    assert "CSAT is 2.0, below the target of 4.0" in page
    assert "<svg" in page
    assert "&gt; 15 days: 1 overdue" in page
    assert "&lt; 1 day: 1 within" in page
    # The 20-day-old complaint missed both deadlines: one alert, its latest breach.
    assert "was not resolved by" in page
    assert "was not acknowledged by" not in page
    assert "<script>" not in page


async def test_the_trend_has_axes_with_values_weeks_as_operator_dates_and_labelled_targets(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    async with sessions() as session:
        customer = await create_customer(session, None, NewCustomer(name="Ann", phones=("13800000001",)))
        sent = await surveys.send_survey(
            session, customer_id=customer.id, kind="csat", trigger="call", channel="phone", now=now
        )
        await surveys.answer(session, sent.id, 3)
    page = await (await client.get("/supervisor/satisfaction", headers=staff.supervisor)).text()
    trend = page[page.index('id="trend"') : page.index('id="ages"')]
    # The operator's zone is Asia/Shanghai (UTC+8): the weeks start on its dates.
    zone = ZoneInfo("Asia/Shanghai")
    first, last = (now - timedelta(weeks=12)).astimezone(zone), (now - timedelta(weeks=1)).astimezone(zone)
    assert f">{first.strftime('%m-%d')}</text>" in trend
    assert f"Week of {last.date().isoformat()}: CSAT 3.0" in trend
    for value in ("1", "2", "3", "4", "5", "−100", "−50", "0", "50", "100"):
        assert f'text-anchor="end">{value}</text>' in trend
    assert "target 4.0" in trend
    assert "target 30.0" in trend
    assert "Week starting" in trend
    assert "Score" in trend


async def move(
    session: AsyncSession, actor: UserRecord, complaint: ComplaintView, *states: str, at: datetime
) -> None:
    for state in states:
        await complaints.transition(
            session, actor, complaint.id, state, resolution="fixed", now=at, policy=POLICY
        )


def _alerts_section(page: str) -> str:
    return page[page.index('id="alerts"') :]


async def test_the_overdue_bars_count_the_complaints_the_alerts_name(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Overdue = open and past a deadline still owed (acknowledge while received, resolve
    until resolved); each such complaint has one open alert after the worker's pass."""
    now = utcnow()
    async with sessions() as session:
        lead = await save_user(session, "lead1", "pw", role="supervisor")
        customer = await create_customer(session, None, NewCustomer(name="Ann", phones=("13800000001",)))

        async def lodge(ago: timedelta) -> ComplaintView:
            return await complaints.lodge(
                session,
                customer_id=customer.id,
                category="network",
                description="slow",
                channel="phone",
                now=now - ago,
                policy=POLICY,
            )

        untouched = await lodge(timedelta(days=20))  # past both deadlines
        late = await lodge(timedelta(days=20))  # acknowledged in time, past the resolve deadline
        await move(session, lead, late, "acknowledged", at=now - timedelta(days=20) + timedelta(hours=1))
        unacknowledged = await lodge(timedelta(days=12))  # past the acknowledge deadline only
        settled = await lodge(timedelta(days=20))  # escalated, then resolved late
        await lodge(timedelta(hours=2))  # within both
        await complaints.escalate_due(session, now=now - timedelta(days=1))
        await move(
            session, lead, settled, "acknowledged", "investigating", "resolved", at=now - timedelta(hours=12)
        )
        await complaints.escalate_due(session, now=now)

    page = await (await client.get("/supervisor/satisfaction", headers=staff.supervisor)).text()
    assert "&gt; 15 days: 2 overdue" in page
    assert "7–15 days: 1 overdue" in page
    assert "&lt; 1 day: 1 within deadline" in page
    alerts = _alerts_section(page)
    assert "Alerts (3)" in alerts
    assert "3 complaints are overdue" in alerts
    assert alerts.count('<div class="alert">') == 3
    for complaint in (untouched, late, unacknowledged):
        assert alerts.count(complaint.ticket) == 1
    assert settled.ticket not in alerts

    async with sessions() as session:
        await move(session, lead, unacknowledged, "acknowledged", at=now)
        await complaints.escalate_due(session, now=now)
    page = await (await client.get("/supervisor/satisfaction", headers=staff.supervisor)).text()
    assert "7–15 days: 1 within deadline" in page
    alerts = _alerts_section(page)
    assert "Alerts (2)" in alerts
    assert "2 complaints are overdue" in alerts
    assert unacknowledged.ticket not in alerts
