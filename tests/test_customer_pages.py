"""The customer pages as a browser uses them: find a customer however the caller spells
them, read the whole profile (audited), and, for supervisors, change tier or blacklist."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import complaints, customer_search, surveys
from handlers.campaigns import offer_accepted
from handlers.complaints import ComplaintPolicy
from handlers.customers import NewCustomer, create_customer
from storage import customers as customers_repo
from storage.models import AuditEntry, Campaign, CampaignTarget, Contact, Customer
from storage.models.base import utcnow
from tests.conftest import Staff
from tests.console_client import csrf_in, sign_in

Client = TestClient[web.Request, web.Application]
POLICY = ComplaintPolicy()


async def _customer(
    sessions: async_sessionmaker[AsyncSession], name: str, *phones: str, telegram: str | None = None
) -> int:
    async with sessions() as session:
        record = await create_customer(
            session, None, NewCustomer(name=name, phones=phones, telegram_id=telegram, region="Shanghai")
        )
    return record.id


async def _lodge(sessions: async_sessionmaker[AsyncSession], customer_id: int, description: str) -> str:
    async with sessions() as session:
        complaint = await complaints.lodge(
            session,
            customer_id=customer_id,
            category="billing",
            description=description,
            channel="phone",
            now=utcnow(),
            policy=POLICY,
        )
    return complaint.ticket


async def _signed_in(client: Client, login: str) -> None:
    response = await sign_in(client, login, f"pw-{login}")
    assert response.status in (302, 303), await response.text()


async def _audit(sessions: async_sessionmaker[AsyncSession], action: str) -> list[AuditEntry]:
    async with sessions() as session:
        found = await session.execute(select(AuditEntry).where(AuditEntry.action == action))
        return list(found.scalars())


async def test_a_name_finds_every_customer_it_begins_in_a_table_with_tier_phone_region_and_open_complaints(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    wang = await _customer(sessions, "王芳", "13800000003")
    await _customer(sessions, "王伟", "13800000004")
    await _customer(sessions, "李娜", "13800000005")
    await _lodge(sessions, wang, "charged twice")
    await _signed_in(client, "agent1")

    response = await client.get("/customers", params={"q": "王"}, allow_redirects=False)

    assert response.status == 200
    page = await response.text()
    assert "王芳" in page
    assert "王伟" in page
    assert "李娜" not in page
    assert f'href="/customers/{wang}"' in page
    assert "+8613800000003" in page
    assert "Shanghai" in page
    assert "Regular" in page
    assert "<strong>1</strong>" in page  # 王芳's open complaint
    shown = await _audit(sessions, "customer.search")
    assert len(shown) == 2
    assert {e.via for e in shown} == {"console"}


async def test_latin_names_are_found_in_any_case_and_a_wildcard_is_only_a_character(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _customer(sessions, "Zhang Wei", "13800000003")
    await _customer(sessions, "Zhao_Li", "13800000004")
    await _signed_in(client, "agent1")

    page = await (await client.get("/customers", params={"q": "zhang"})).text()
    assert "Zhang Wei" in page
    assert "Zhao_Li" not in page
    page = await (await client.get("/customers", params={"q": "zh%"})).text()
    assert "No customer matches" in page
    page = await (await client.get("/customers", params={"q": "ZHAO_"})).text()
    assert "Zhao_Li" in page
    assert "Zhang Wei" not in page


@pytest.mark.parametrize(
    "spelling",
    ["13800000003", "+86 138 0000 0003", "+86-138-0000-0003", "0086 138 0000 0003", "8613800000003"],
)
async def test_any_spelling_of_a_phone_number_opens_the_profile(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession], spelling: str
) -> None:
    customer = await _customer(sessions, "王芳", "13800000003")
    await _customer(sessions, "王伟", "13800000004")
    await _signed_in(client, "agent1")

    response = await client.get("/customers", params={"q": spelling}, allow_redirects=False)

    assert response.status == 303
    assert response.headers["Location"] == f"/customers/{customer}"


async def test_a_telegram_id_or_a_ticket_opens_the_profile(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer = await _customer(sessions, "王芳", "13800000003", telegram="424242")
    ticket = await _lodge(sessions, customer, "no signal")
    await _signed_in(client, "agent1")

    for query in ("424242", ticket, ticket.lower(), f"  {ticket} "):
        response = await client.get("/customers", params={"q": query}, allow_redirects=False)
        assert response.status == 303, query
        assert response.headers["Location"] == f"/customers/{customer}"
    page = await (await client.get("/customers", params={"q": "CD-1999-000001"})).text()
    assert "No customer matches" in page


async def test_a_common_name_is_read_page_by_page(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(customer_search, "PER_PAGE", 2)
    for n in range(5):
        await _customer(sessions, f"张{n}", f"1380000000{n}")
    await _signed_in(client, "agent1")

    first = await (await client.get("/customers", params={"q": "张"})).text()
    assert "张0" in first
    assert "张1" in first
    assert "张2" not in first
    assert 'rel="next"' in first
    assert 'rel="prev"' not in first
    last = await (await client.get("/customers", params={"q": "张", "page": "3"})).text()
    assert "张4" in last
    assert 'rel="next"' not in last
    assert 'rel="prev"' in last


@pytest.mark.parametrize(("params", "status"), [({"q": "王", "page": "0"}, 400), ({"q": "王\x00"}, 400)])
async def test_a_search_that_cannot_be_run_says_why(
    client: Client, staff: Staff, params: dict[str, str], status: int
) -> None:
    await _signed_in(client, "agent1")
    response = await client.get("/customers", params=params)
    assert response.status == status
    assert 'role="alert"' in await response.text()


async def test_the_profile_shows_every_section_and_each_view_is_audited(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer = await _customer(sessions, "王芳", "13800000003", telegram="424242")
    ticket = await _lodge(sessions, customer, "charged twice")
    now = utcnow()
    async with sessions() as session:
        product = await customers_repo.get_or_create_product(session, "fiber-500", "光纤 500M")
        await customers_repo.set_holding(session, customer, product, now.date(), Decimal("199.00"))
        await customers_repo.update_fields(
            session, customer, blacklisted=True, blacklist_reason="abusive to agents"
        )
        campaign = Campaign(name="春节关怀", kind="follow_up", channel="telegram", messages={"zh": "您好"})
        session.add(campaign)
        await session.flush()
        session.add(
            CampaignTarget(
                campaign_id=campaign.id,
                customer_id=customer,
                channel="telegram",
                timezone="Asia/Shanghai",
                status="sent",
                sent_at=now,
            )
        )
        session.add(
            Contact(
                channel="phone",
                direction="in",
                external_id="call-1",
                customer_id=customer,
                disposition="callback promised",
            )
        )
        await session.commit()
        sent = await surveys.send_survey(
            session,
            customer_id=customer,
            kind="csat",
            trigger="call",
            channel="phone",
            now=now - timedelta(hours=1),
        )
        await surveys.answer(session, sent.id, 4)
        await offer_accepted(session, customer_id=customer, offer_code="fiber-500", channel="phone")
    await _signed_in(client, "admin")
    await client.post(
        f"/customers/{customer}/tier",
        data={
            "tier": "preferred",
            "reason": "ten years with us",
            "force": "yes",  # the only customer: any tier is over its share
            "csrf": csrf_in(await (await client.get(f"/customers/{customer}")).text()),
        },
    )

    response = await client.get(f"/customers/{customer}")

    assert response.status == 200
    page = await response.text()
    for shown in (
        "王芳",
        "+8613800000003",
        "424242",
        "Shanghai",
        "abusive to agents",  # the blacklist's reason
        "Preferred",
        "光纤 500M",
        "¥199.00",
        f'href="/complaints/{ticket}"',
        "callback promised",
        "<strong>4</strong>",  # the survey's score
        "ten years with us",  # the tier history
        "春节关怀",
        "Sent",
    ):
        assert shown in page, shown
    assert page.count("光纤 500M") == 2  # held, and an offer accepted
    reads = await _audit(sessions, "customer.read")
    assert [(e.customer_id, e.via, e.actor) for e in reads] == [(customer, "console", "admin")] * 3


async def test_a_missing_customer_is_a_404_page(client: Client, staff: Staff) -> None:
    await _signed_in(client, "agent1")
    for path in ("/customers/999999", "/customers/x"):
        response = await client.get(path)
        assert response.status == 404
        assert "There is no such customer." in await response.text()


async def test_a_supervisor_changes_the_tier_with_a_reason_and_sees_it(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer = await _customer(sessions, "王芳", "13800000003")
    for n in range(9):
        await _customer(sessions, f"客户{n}", f"1390000000{n}")
    await _signed_in(client, "supervisor")
    csrf = csrf_in(await (await client.get(f"/customers/{customer}")).text())

    response = await client.post(
        f"/customers/{customer}/tier",
        data={"tier": "vip", "reason": "top spender", "csrf": csrf},
        allow_redirects=False,
    )

    assert response.status == 303
    assert response.headers["Location"] == f"/customers/{customer}"
    page = await (await client.get(f"/customers/{customer}")).text()
    assert "Regular → VIP" in page
    assert "top spender" in page
    async with sessions() as session:
        assert (await session.get(Customer, customer)).tier == "vip"  # type: ignore[union-attr]
    changes = await _audit(sessions, "customer.tier")
    assert [(e.via, e.details["reason"]) for e in changes] == [("console", "top spender")]


async def test_a_tier_over_its_quota_is_refused_with_the_figures_and_the_reason_is_kept(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer = await _customer(sessions, "王芳", "13800000003")
    await _customer(sessions, "王伟", "13800000004")
    await _signed_in(client, "supervisor")
    csrf = csrf_in(await (await client.get(f"/customers/{customer}")).text())

    response = await client.post(
        f"/customers/{customer}/tier", data={"tier": "vip", "reason": "asked nicely", "csrf": csrf}
    )

    assert response.status == 409
    page = await response.text()
    assert "Not changed: VIP would then be 1 of 2 customers (50.0%), above its limit of 15%." in page
    assert "Only an administrator may force it." in page
    assert 'value="asked nicely"' in page
    async with sessions() as session:
        assert (await session.get(Customer, customer)).tier == "regular"  # type: ignore[union-attr]


async def test_an_admin_may_force_a_tier_past_its_quota(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer = await _customer(sessions, "王芳", "13800000003")
    await _signed_in(client, "admin")
    page = await (await client.get(f"/customers/{customer}")).text()
    assert "past the quota" in page

    response = await client.post(
        f"/customers/{customer}/tier",
        data={"tier": "vip", "reason": "board decision", "force": "yes", "csrf": csrf_in(page)},
    )

    assert response.status == 200
    assert "forced" in await response.text()


async def test_a_supervisor_blacklists_with_a_reason_and_lifts_it(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer = await _customer(sessions, "王芳", "13800000003")
    await _signed_in(client, "supervisor")
    csrf = csrf_in(await (await client.get(f"/customers/{customer}")).text())
    path = f"/customers/{customer}/blacklist"

    refused = await client.post(path, data={"blacklisted": "yes", "reason": " ", "csrf": csrf})
    assert refused.status == 400
    assert "Give a reason: it is kept in the customer's history." in await refused.text()

    response = await client.post(path, data={"blacklisted": "yes", "reason": "fraud", "csrf": csrf})
    assert response.status == 200  # followed the 303 back to the profile
    page = await response.text()
    assert "Blacklisted:</strong> fraud" in page
    assert "Lift the blacklist" in page

    response = await client.post(path, data={"blacklisted": "no", "reason": "", "csrf": csrf})
    assert "Blacklisted" not in await response.text()
    actions = [e.action for e in await _audit(sessions, "customer.blacklist")]
    actions += [e.action for e in await _audit(sessions, "customer.unblacklist")]
    assert actions == ["customer.blacklist", "customer.unblacklist"]


async def test_a_form_without_its_csrf_token_changes_nothing(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer = await _customer(sessions, "王芳", "13800000003")
    await _signed_in(client, "supervisor")
    await client.get(f"/customers/{customer}")

    response = await client.post(
        f"/customers/{customer}/blacklist", data={"blacklisted": "yes", "reason": "x"}
    )

    assert response.status == 403
    async with sessions() as session:
        assert not (await session.get(Customer, customer)).blacklisted  # type: ignore[union-attr]


async def test_an_agent_reads_the_profile_without_forms_and_cannot_post_them(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer = await _customer(sessions, "王芳", "13800000003")
    await _signed_in(client, "agent1")
    page = await (await client.get(f"/customers/{customer}")).text()
    assert "王芳" in page
    assert "/tier" not in page
    assert "/blacklist" not in page

    for action, data in (("tier", {"tier": "vip"}), ("blacklist", {"blacklisted": "yes"})):
        response = await client.post(
            f"/customers/{customer}/{action}", data={**data, "reason": "because", "csrf": csrf_in(page)}
        )
        assert response.status == 403
    async with sessions() as session:
        row = await session.get(Customer, customer)
        assert row is not None
        assert (row.tier, row.blacklisted) == ("regular", False)


async def test_a_stranger_is_sent_to_sign_in(client: Client) -> None:
    for path in ("/customers?q=王", "/customers/1"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"].startswith("/login")


async def test_the_pages_speak_chinese(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer = await _customer(sessions, "王芳", "13800000003")
    await _customer(sessions, "王伟", "13800000004")
    await _lodge(sessions, customer, "charged twice")
    await _signed_in(client, "supervisor")
    home = await (await client.get("/customers")).text()
    await client.post("/language", data={"language": "zh", "csrf": csrf_in(home), "next": "/customers"})

    results = await (await client.get("/customers", params={"q": "王"})).text()
    assert '<html lang="zh">' in results
    assert "普通" in results  # the tier, as a word
    assert "未结投诉" in results
    profile = await (await client.get(f"/customers/{customer}")).text()
    for word in ("未结投诉", "调整等级", "黑名单", "账单", "已接收", "原因（必填）"):
        assert word in profile, word
