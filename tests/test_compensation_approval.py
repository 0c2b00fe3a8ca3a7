"""A compensation above the operator's limit waits for a supervisor before the customer is
told: what the customer receives (the outbox), what the agent and the supervisor see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import AuditEntry
from templates import message
from tests.conftest import Staff
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
