"""The customers API as a supervisor or an agent sees it, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import AuditEntry
from tests.conftest import Staff

Client = TestClient[web.Request, web.Application]


async def create(client: Client, staff: Staff, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/customers", json=body, headers=staff.supervisor)
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def test_a_customer_is_found_by_any_spelling_of_their_number(client: Client, staff: Staff) -> None:
    created = await create(client, staff, name="Emily Carter", phones=["+86 138 0000 0003"], language="en")
    for spelling in ("013800000003", "8613800000003", "+86 138 0000 0003"):
        response = await client.get("/api/v1/customers", params={"phone": spelling}, headers=staff.agent)
        assert response.status == 200
        found = (await response.json())["customers"]
        assert [c["id"] for c in found] == [created["id"]]
        assert found[0]["name"] == "Emily Carter"


async def test_an_unknown_number_finds_nobody(client: Client, staff: Staff) -> None:
    response = await client.get("/api/v1/customers", params={"phone": "13900000000"}, headers=staff.agent)
    assert response.status == 200
    assert (await response.json())["customers"] == []


async def test_the_profile_shows_identities_tier_and_holdings(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from datetime import date
    from decimal import Decimal

    from storage import customers as repo

    created = await create(
        client, staff, name="王芳", phones=["13800000001", "+86 139 0000 0001"], email="Wang@Example.com"
    )
    async with sessions() as session:
        product = await repo.get_or_create_product(session, "iptv", "IPTV Family", "tv", Decimal("30"))
        await repo.set_holding(session, created["id"], product, date(2024, 3, 1), Decimal("30"))
        await session.commit()

    response = await client.get(f"/api/v1/customers/{created['id']}", headers=staff.agent)
    assert response.status == 200
    profile = await response.json()
    assert profile["tier"] == "regular"
    assert {(i["kind"], i["value"]) for i in profile["identities"]} == {
        ("phone", "+8613800000001"),
        ("phone", "+8613900000001"),
        ("email", "wang@example.com"),
    }
    assert profile["holdings"] == [
        {
            "product_code": "iptv",
            "product_name": "IPTV Family",
            "since": "2024-03-01",
            "monthly_spend": "30.00",
        }
    ]


async def test_every_profile_read_is_in_the_audit_log(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await create(client, staff, name="李强", phones=["13800000002"])
    await client.get(f"/api/v1/customers/{created['id']}", headers=staff.agent)
    await client.get("/api/v1/customers", params={"phone": "13800000002"}, headers=staff.agent2)
    async with sessions() as session:
        entries = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.details)
                .where(AuditEntry.subject_id == str(created["id"]))
                .order_by(AuditEntry.id)
            )
        ).all()
    actions = [e.action for e in entries]
    assert actions == ["customer.create", "customer.read", "customer.search"]
    assert len({e.actor_id for e in entries}) == 3
    # the search is logged without the full number
    assert "13800000002" not in str(entries[-1].details)


async def test_no_token_is_401_and_a_wrong_token_is_401(client: Client) -> None:
    assert (await client.get("/api/v1/customers/1")).status == 401
    response = await client.get("/api/v1/customers/1", headers={"Authorization": "Bearer nope"})
    assert response.status == 401
    assert (await response.json())["error"] == "unauthenticated"


async def test_an_agent_may_not_change_a_tier(client: Client, staff: Staff) -> None:
    created = await create(client, staff, name="张伟", phones=["13800000004"])
    response = await client.patch(
        f"/api/v1/customers/{created['id']}",
        json={"tier": "vip", "reason": "big spender"},
        headers=staff.agent,
    )
    assert response.status == 403
    assert "role" in (await response.json())["message"]


async def test_vip_quota_refuses_a_sixteenth_percent_unless_an_admin_forces_it(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ids = [(await create(client, staff, name=f"c{n}", phones=[f"1380000{n:04d}"]))["id"] for n in range(10)]
    first = await client.patch(
        f"/api/v1/customers/{ids[0]}",
        json={"tier": "vip", "reason": "ABC review: A set"},
        headers=staff.supervisor,
    )
    assert first.status == 200
    assert (await first.json())["tier"] == "vip"

    second = await client.patch(
        f"/api/v1/customers/{ids[1]}",
        json={"tier": "vip", "reason": "ABC review: A set"},
        headers=staff.supervisor,
    )
    assert second.status == 409
    error = await second.json()
    assert error["error"] == "tier-quota-exceeded"
    assert "15%" in error["message"]

    supervisor_force = await client.patch(
        f"/api/v1/customers/{ids[1]}",
        json={"tier": "vip", "reason": "ABC review", "force": True},
        headers=staff.supervisor,
    )
    assert supervisor_force.status == 403

    forced = await client.patch(
        f"/api/v1/customers/{ids[1]}",
        json={"tier": "vip", "reason": "board decision", "force": True},
        headers=staff.admin,
    )
    assert forced.status == 200
    async with sessions() as session:
        change = (
            await session.execute(
                select(AuditEntry.details).where(
                    AuditEntry.action == "customer.tier", AuditEntry.subject_id == str(ids[1])
                )
            )
        ).scalar_one()
    assert change == {"from": "regular", "to": "vip", "reason": "board decision", "forced": True}


async def test_a_tier_change_without_a_reason_is_refused(client: Client, staff: Staff) -> None:
    created = await create(client, staff, name="x", phones=["13800000005"])
    response = await client.patch(
        f"/api/v1/customers/{created['id']}", json={"tier": "preferred"}, headers=staff.supervisor
    )
    assert response.status == 400
    assert "reason" in (await response.json())["message"]


async def test_blacklisting_shows_on_the_profile_with_its_reason(client: Client, staff: Staff) -> None:
    created = await create(client, staff, name="孙骗", phones=["13800000666"])
    response = await client.patch(
        f"/api/v1/customers/{created['id']}",
        json={"blacklisted": True, "reason": "abusive calls"},
        headers=staff.supervisor,
    )
    assert response.status == 200
    profile = await (await client.get(f"/api/v1/customers/{created['id']}", headers=staff.agent)).json()
    assert profile["blacklisted"] is True
    assert profile["blacklist_reason"] == "abusive calls"


async def test_bad_input_gets_a_400_that_names_the_problem(client: Client, staff: Staff) -> None:
    bad_phone = await client.post("/api/v1/customers", json={"phones": ["12345"]}, headers=staff.agent)
    assert bad_phone.status == 400
    assert "phone" in (await bad_phone.json())["message"]

    not_json = await client.post("/api/v1/customers", data="{oops", headers=staff.agent)
    assert not_json.status == 400
    assert (await not_json.json())["error"] == "invalid-json"

    wrong_type = await client.post("/api/v1/customers", json={"phones": "13800000001"}, headers=staff.agent)
    assert wrong_type.status == 400
    assert (await wrong_type.json())["details"]["fields"][0]["field"] == "phones"

    bad_id = await client.get("/api/v1/customers/abc", headers=staff.agent)
    assert bad_id.status == 400

    missing = await client.get("/api/v1/customers/999999", headers=staff.agent)
    assert missing.status == 404


async def test_the_same_number_cannot_belong_to_two_customers(client: Client, staff: Staff) -> None:
    await create(client, staff, name="a", phones=["13800000007"])
    response = await client.post(
        "/api/v1/customers", json={"name": "b", "phones": ["+8613800000007"]}, headers=staff.agent
    )
    assert response.status == 409
    assert "already belongs" in (await response.json())["message"]


async def test_merging_two_records_keeps_every_identity_and_holding(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from datetime import date
    from decimal import Decimal

    from storage import customers as repo

    phone_person = await create(client, staff, name="陈静", phones=["13800000006"])
    chat_person = await create(client, staff, name="", telegram_id="5550001", email="chen@example.com")
    async with sessions() as session:
        product = await repo.get_or_create_product(session, "iptv", "IPTV", "tv", Decimal("30"))
        await repo.set_holding(session, chat_person["id"], product, date(2023, 5, 1), Decimal("30"))
        await session.commit()

    merged = await client.post(
        f"/api/v1/customers/{phone_person['id']}/merge",
        json={"source_id": chat_person["id"]},
        headers=staff.supervisor,
    )
    assert merged.status == 200
    body = await merged.json()
    assert {i["kind"] for i in body["identities"]} == {"phone", "telegram", "email"}
    assert [h["product_code"] for h in body["holdings"]] == ["iptv"]

    # the old record now answers as the survivor
    old = await (await client.get(f"/api/v1/customers/{chat_person['id']}", headers=staff.agent)).json()
    assert old["id"] == phone_person["id"]


async def test_linking_a_telegram_id_makes_chat_and_phone_one_customer(client: Client, staff: Staff) -> None:
    created = await create(client, staff, name="John Miller", phones=["13800000008"])
    response = await client.post(
        f"/api/v1/customers/{created['id']}/identities",
        json={"kind": "telegram", "value": "424242"},
        headers=staff.supervisor,
    )
    assert response.status == 200
    assert {"kind": "telegram", "value": "424242"} in (await response.json())["identities"]


async def test_text_with_a_nul_character_is_a_400_on_every_database(client: Client, staff: Staff) -> None:
    response = await client.post(
        "/api/v1/customers", json={"name": "Ann\u0000", "phones": ["13800000077"]}, headers=staff.agent
    )
    assert response.status == 400
    assert "NUL" in (await response.json())["message"]


async def test_merging_two_customers_of_one_campaign_keeps_both_messages(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Both were sent the same campaign (the fuzzer found this a 500): the survivor keeps its
    own message, and the merged record keeps the other, so no history is lost."""
    from storage.models import Campaign, CampaignTarget

    kept = await create(client, staff, name="王芳", phones=["13800000011"])
    gone = await create(client, staff, name="王芳", phones=["13800000012"])
    async with sessions() as session:
        campaign = Campaign(name="Autumn NPS", kind="satisfaction", channel="telegram", state="completed")
        session.add(campaign)
        await session.flush()
        for customer in (kept, gone):
            session.add(
                CampaignTarget(
                    campaign_id=campaign.id,
                    customer_id=customer["id"],
                    channel="telegram",
                    timezone="Asia/Shanghai",
                    status="sent",
                )
            )
        await session.commit()

    merged = await client.post(
        f"/api/v1/customers/{kept['id']}/merge", json={"source_id": gone["id"]}, headers=staff.supervisor
    )
    assert merged.status == 200, await merged.text()
    assert {i["value"] for i in (await merged.json())["identities"]} >= {"+8613800000011", "+8613800000012"}
    async with sessions() as session:
        owners = (await session.execute(select(CampaignTarget.customer_id))).scalars().all()
    assert sorted(owners) == sorted([kept["id"], gone["id"]])


async def test_merging_two_customers_billed_for_one_month_with_a_live_chat_each_loses_nothing(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The fuzzer found both a 500: a bill for the same month (the key is customer and month)
    and a live chat each (one live chat per customer). The survivor keeps its own; the merged
    record keeps the other; a month only the merged record was billed for moves."""
    from datetime import date
    from decimal import Decimal

    from storage.models import InboxConversation
    from storage.models.tiers import MonthlySpend

    kept = await create(client, staff, name="李雷", phones=["13800000021"])
    gone = await create(client, staff, name="李雷", phones=["13800000022"])
    async with sessions() as session:
        for customer, months in ((kept, (6,)), (gone, (6, 7))):
            for month in months:
                session.add(
                    MonthlySpend(customer_id=customer["id"], month=date(2026, month, 1), amount=Decimal(99))
                )
            session.add(
                InboxConversation(
                    customer_id=customer["id"], address=str(customer["id"]), state="open", queue="general"
                )
            )
        await session.commit()

    merged = await client.post(
        f"/api/v1/customers/{kept['id']}/merge", json={"source_id": gone["id"]}, headers=staff.supervisor
    )
    assert merged.status == 200, await merged.text()
    async with sessions() as session:
        bills = (await session.execute(select(MonthlySpend.customer_id, MonthlySpend.month))).all()
        chats = (await session.execute(select(InboxConversation.customer_id))).scalars().all()
    assert sorted(bills) == sorted(
        [(kept["id"], date(2026, 6, 1)), (gone["id"], date(2026, 6, 1)), (kept["id"], date(2026, 7, 1))]
    )
    assert sorted(chats) == sorted([kept["id"], gone["id"]])
