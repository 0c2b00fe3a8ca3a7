"""A compensation above the operator's limit waits for a supervisor before the customer is
told: what the customer receives (the outbox), what the agent and the supervisor see."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import complaints
from handlers.complaints import ComplaintPolicy
from handlers.customers import NewCustomer, create_customer
from handlers.inputs import money
from storage import complaints as complaints_repo
from storage import users as users_repo
from storage.models import AuditEntry
from storage.models.base import utcnow
from templates import message, render
from tests.conftest import Staff
from tests.console_client import csrf_in, sign_in
from tests.test_complaints_api import lodge, move, outbox
from tests.test_customers_api import Client, create


async def investigating(client: Client, staff: Staff, phone: str, language: str) -> int:
    customer = await create(
        client, staff, name="Emily", phones=[phone], telegram_id=phone[-6:], language=language
    )
    cid = int((await lodge(client, staff, customer["id"]))["id"])
    for to in ("acknowledged", "investigating"):
        assert (await move(client, staff.agent, cid, to)).status == 200
    return cid


async def resolve(client: Client, headers: dict[str, str], cid: int, amount: str, text: str = "") -> Any:
    return await move(
        client,
        headers,
        cid,
        "resolved",
        resolution="replaced the router",
        compensation=text or None,
        compensation_amount=amount,
    )


async def decide(client: Client, headers: dict[str, str], cid: int, decision: str, reason: str = "") -> Any:
    body = {"decision": decision, **({"reason": reason} if reason else {})}
    return await client.post(f"/api/v1/complaints/{cid}/approval", json=body, headers=headers)


async def resolved_messages(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """What the customer reads, as the outbox will send it."""
    return [
        message(m.template, m.language, **m.payload)
        for m in await outbox(sessions)
        if m.template == "complaint_resolved"
    ]


async def timeline(client: Client, staff: Staff, cid: int) -> list[tuple[str, str | None]]:
    detail = await (await client.get(f"/api/v1/complaints/{cid}", headers=staff.supervisor)).json()
    return [(e["kind"], e["note"]) for e in detail["events"]]


async def test_above_the_limit_the_customer_hears_nothing_until_a_supervisor_approves(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    cid = await investigating(client, staff, "13800000101", "en")
    waiting = await resolve(client, staff.agent, cid, "500", "bill credit")
    assert waiting.status == 200, await waiting.text()
    body = await waiting.json()
    assert body["state"] == "investigating"
    detail = await (await client.get(f"/api/v1/complaints/{cid}", headers=staff.agent)).json()
    assert detail["allowed"] == []  # nothing to offer the agent while it waits
    assert body["approval"]["amount"] == "500.00"
    assert body["approval"]["requested_by"] == "agent1"
    assert body["compensation"] is None
    assert await resolved_messages(sessions) == []

    assert (await decide(client, staff.agent, cid, "approve")).status == 403
    again = await resolve(client, staff.agent2, cid, "100")
    assert (again.status, (await again.json())["error"]) == (409, "awaiting-approval")
    assert await resolved_messages(sessions) == []

    approved = await decide(client, staff.supervisor, cid, "approve")
    assert approved.status == 200, await approved.text()
    body = await approved.json()
    assert (body["state"], body["compensation"], body["compensation_amount"]) == (
        "resolved",
        "bill credit",
        "500.00",
    )
    assert body["approval"] is None
    assert await resolved_messages(sessions) == [
        "Ticket {t} is resolved: replaced the router\nCompensation: CNY 500.00 (bill credit)\n"
        "Are you satisfied with the resolution?".format(t=body["ticket"])
    ]
    kinds = [kind for kind, _ in await timeline(client, staff, cid)]
    assert kinds[-3:] == ["approval_requested", "approval_granted", "transition"]
    async with sessions() as session:
        entries = (
            await session.execute(select(AuditEntry).where(AuditEntry.subject_type == "complaint"))
        ).scalars()
        approvals = [(e.action, e.actor, e.details) for e in entries if "compensation" in e.action]
    assert approvals == [
        (
            "complaint.compensation_approved",
            "supervisor",
            {"ticket": body["ticket"], "amount": "500.00", "proposed_by": "agent1"},
        )
    ]
    nothing_left = await decide(client, staff.supervisor, cid, "approve")
    assert (nothing_left.status, (await nothing_left.json())["error"]) == (409, "nothing-awaits-approval")


async def test_a_rejection_returns_it_to_the_agent_with_the_reason_who_resolves_again(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    cid = await investigating(client, staff, "13800000102", "zh")
    assert (await resolve(client, staff.agent, cid, "1000", "话费减免")).status == 200

    no_reason = await decide(client, staff.supervisor, cid, "reject")
    assert no_reason.status == 400
    assert "reason" in (await no_reason.json())["message"]
    rejected = await decide(client, staff.admin, cid, "reject", "超出标准，最多补偿 150 元")
    assert rejected.status == 200
    body = await rejected.json()
    assert (body["state"], body["approval"], body["compensation"]) == ("investigating", None, None)
    assert ("approval_rejected", "compensation 1000.00 proposed by agent1: 超出标准，最多补偿 150 元") in (
        await timeline(client, staff, cid)
    )
    assert await resolved_messages(sessions) == []

    again = await resolve(client, staff.agent, cid, "150", "话费减免")
    assert (await again.json())["state"] == "resolved"
    [told] = await resolved_messages(sessions)
    assert told.splitlines()[1] == "补偿：150.00 元（话费减免）"
    async with sessions() as session:
        actions = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert "complaint.compensation_rejected" in actions


async def test_at_or_below_the_limit_a_resolution_is_made_at_once_as_before(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    cid = await investigating(client, staff, "13800000103", "en")
    response = await resolve(client, staff.agent, cid, "200.00")
    body = await response.json()
    assert (body["state"], body["compensation_amount"], body["approval"]) == ("resolved", "200.00", None)
    [told] = await resolved_messages(sessions)
    assert "Compensation: CNY 200.00" in told


async def test_a_supervisors_own_resolution_needs_no_approval(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    cid = await investigating(client, staff, "13800000104", "en")
    response = await resolve(client, staff.supervisor, cid, "900")
    assert (await response.json())["state"] == "resolved"
    assert len(await resolved_messages(sessions)) == 1


async def test_an_amount_that_is_not_money_is_refused(client: Client, staff: Staff) -> None:
    cid = await investigating(client, staff, "13800000105", "en")
    for amount in ("-5", "12.345", "lots"):
        assert (await resolve(client, staff.agent, cid, amount)).status == 400
    assert (await decide(client, staff.supervisor, cid, "maybe")).status == 400


# The console: the escalations queue and the complaint page's fragment.

POLICY = ComplaintPolicy()


async def breached(sessions: async_sessionmaker[AsyncSession], phone: str) -> str:
    """A complaint lodged three days ago that nobody acknowledged: escalated by the worker."""
    async with sessions() as session:
        customer = await create_customer(session, None, NewCustomer(name="王芳", phones=(phone,), tier="vip"))
        lodged = await complaints.lodge(
            session,
            customer_id=customer.id,
            category="billing",
            description="charged twice",
            channel="phone",
            severity="urgent",
            now=utcnow() - timedelta(days=3),
            policy=POLICY,
        )
        assert await complaints.escalate_due(session)
    return lodged.ticket


async def browser_as(client: Client, login: str) -> None:
    assert (await sign_in(client, login, "pw-" + login)).status == 302


async def test_the_queue_lists_waiting_compensations_then_breaches_in_both_languages(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    old = await breached(sessions, "13800000111")
    cid = await investigating(client, staff, "13800000112", "zh")
    await resolve(client, staff.agent, cid, "500", "话费减免")
    await browser_as(client, "supervisor")

    response = await client.get("/complaints/escalations")
    assert response.status == 200
    english = await response.text()
    waiting = (await (await client.get(f"/api/v1/complaints/{cid}", headers=staff.agent)).json())["ticket"]
    # Waiting compensations first (a customer waits for news of them), then the breaches.
    assert english.index(waiting) < english.index(old)
    for words in ("Compensations awaiting approval", "Escalated complaints", "¥500.00", "agent1", "Approve"):
        assert words in english, words
    async with sessions() as session:
        audited = select(AuditEntry.customer_id).where(AuditEntry.action == "complaint.escalations")
        shown = (await session.execute(audited)).scalars().all()
    assert len(shown) == 2  # each customer on the page

    chosen = await client.post(
        "/language",
        data={"language": "zh", "csrf": csrf_in(english), "back": "/complaints/escalations"},
    )
    chinese = await chosen.text()
    for words in (
        "升级与审批",
        "待审批的补偿",
        "超时升级的投诉",
        "王芳",
        "VIP",
        "账单",
        "紧急",
        "已接收",
        "批准",
        "驳回",
        "退回坐席",
    ):
        assert words in chinese, words


async def test_the_queue_buttons_reject_with_a_reason_and_approve(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    cid = await investigating(client, staff, "13800000113", "en")
    await resolve(client, staff.agent, cid, "800")
    await browser_as(client, "supervisor")
    page = await (await client.get("/complaints/escalations")).text()
    form = {"csrf": csrf_in(page), "back": "/complaints/escalations"}
    action = f"/complaints/{cid}/approval"

    blank = await client.post(
        action, data={**form, "decision": "reject", "reason": " "}, allow_redirects=False
    )
    assert blank.status == 400
    assert "reason" in await blank.text()
    sent_back = await client.post(
        action, data={**form, "decision": "reject", "reason": "too much"}, allow_redirects=False
    )
    assert (sent_back.status, sent_back.headers["Location"]) == (303, "/complaints/escalations")
    assert ("approval_rejected", "compensation 800.00 proposed by agent1: too much") in await timeline(
        client, staff, cid
    )
    assert f"/complaints/{cid}/approval" not in await (await client.get("/complaints/escalations")).text()

    await resolve(client, staff.agent, cid, "300")
    ticket = (await (await client.get(f"/api/v1/complaints/{cid}", headers=staff.agent)).json())["ticket"]
    approved = await client.post(
        action, data={**form, "decision": "approve", "back": f"/complaints/{ticket}"}, allow_redirects=False
    )
    assert (approved.status, approved.headers["Location"]) == (303, f"/complaints/{ticket}")
    [told] = await resolved_messages(sessions)
    assert "Compensation: CNY 300.00" in told
    elsewhere = await client.post(action, data={**form, "decision": "approve", "back": "//evil.example"})
    assert elsewhere.status == 409  # nothing waits any more; and never a redirect off the site


async def test_an_agent_gets_a_403_for_the_queue_and_its_buttons(client: Client, staff: Staff) -> None:
    cid = await investigating(client, staff, "13800000114", "en")
    await resolve(client, staff.agent, cid, "900")
    await browser_as(client, "agent1")
    assert (await client.get("/complaints/escalations")).status == 403
    page = await (await client.get("/agent")).text()
    refused = await client.post(
        f"/complaints/{cid}/approval",
        data={"csrf": csrf_in(page), "decision": "approve"},
        allow_redirects=False,
    )
    assert refused.status == 403
    body = await (await client.get(f"/api/v1/complaints/{cid}", headers=staff.agent)).json()
    assert body["approval"]["amount"] == "900.00"


async def test_the_complaint_page_fragment_shows_the_wait_and_buttons_only_to_supervisors(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    cid = await investigating(client, staff, "13800000115", "zh")
    await resolve(client, staff.agent, cid, "650", "退还月租")
    async with sessions() as session:
        complaint = await complaints_repo.get(session, cid)
        users = {u.login: u for u in await users_repo.all_users(session)}
    assert complaint is not None

    def fragment(login: str) -> str:
        return render(
            "console/complaint_approval.html.j2",
            language="zh",
            complaint=complaint,
            user=users[login],
            csrf="token",
            timezone="Asia/Shanghai",
        )

    shown = fragment("supervisor")
    for words in (
        "等待审批",
        "¥650.00",
        "agent1",
        "退还月租",
        "replaced the router",
        "批准",
        "驳回",
        "退回坐席",
    ):
        assert words in shown, words
    assert f'action="/complaints/{cid}/approval"' in shown
    assert f'value="/complaints/{complaint.ticket}"' in shown
    to_agent = fragment("agent1")
    assert "等待审批" in to_agent
    assert "<form" not in to_agent


def test_a_sum_of_money_typed_in_a_form() -> None:
    assert money(" 500 ") == Decimal("500")
    assert money("99.5") == Decimal("99.5")
    for raw in ("", "-1", "1e3", "12.345", "٣", "NaN", "1,000"):
        assert money(raw) is None, raw


async def test_a_breached_complaint_leaves_the_queue_once_it_is_resolved(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ticket = await breached(sessions, "13800000116")
    await browser_as(client, "supervisor")
    assert ticket in await (await client.get("/complaints/escalations")).text()
    async with sessions() as session:
        [complaint] = await complaints_repo.search(session)
    for to in ("acknowledged", "investigating"):
        assert (await move(client, staff.agent, complaint.id, to)).status == 200
    assert (await resolve(client, staff.agent, complaint.id, "0")).status == 200
    assert ticket not in await (await client.get("/complaints/escalations")).text()
