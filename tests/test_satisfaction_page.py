from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import complaints, surveys
from handlers.complaints import ComplaintPolicy
from handlers.customers import NewCustomer, create_customer
from storage.models.base import utcnow
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
    assert "was not acknowledged by" in page
    assert "<script>" not in page
