"""The complaints workbench as an agent and a supervisor use it in the browser: the list
(filters, search, paging), a complaint's page (its card, timeline, deadlines) and the forms
that move it on, assign it and add notes."""

from __future__ import annotations

import re
from datetime import timedelta

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import Settings
from handlers import complaints
from handlers.complaints import ComplaintPolicy
from handlers.customers import NewCustomer, create_customer
from storage.complaints import ComplaintView
from storage.models import Complaint
from storage.models.base import utcnow
from storage.models.users import AuditEntry
from storage.users import UserRecord, get_by_login
from tests.conftest import Staff
from tests.console_client import Client, csrf_in, sign_in
from tests.telegram_standin import bot_api, pointed_at

POLICY = ComplaintPolicy()


async def _lodge(
    sessions: async_sessionmaker[AsyncSession],
    *,
    name: str,
    phone: str,
    tier: str = "regular",
    category: str = "network",
    severity: str = "standard",
    channel: str = "phone",
    description: str = "the line drops every evening",
    days_ago: float = 0,
    attachments: tuple[str, ...] = (),
) -> ComplaintView:
    async with sessions() as session:
        customer = await create_customer(session, None, NewCustomer(name=name, phones=(phone,), tier=tier))
        return await complaints.lodge(
            session,
            customer_id=customer.id,
            category=category,
            description=description,
            channel=channel,
            severity=severity,
            attachments=attachments,
            now=utcnow() - timedelta(days=days_ago),
            policy=POLICY,
        )


async def _signed_in(client: Client, login: str) -> None:
    """Signed in as `login` (the tests' console reads English unless a test chooses)."""
    await sign_in(client, login, "pw-" + login)


async def _form(client: Client, page: str, ticket: str, act: str, **fields: str) -> ClientResponse:
    """Post one of the complaint page's forms as the browser would (a 303 is not followed)."""
    return await client.post(
        f"/complaints/{ticket}/{act}", data={**fields, "csrf": csrf_in(page)}, allow_redirects=False
    )


def _tickets(page: str) -> list[str]:
    return re.findall(r'<a href="/complaints/(CD-[0-9-]+)">', page)


async def _page(client: Client, path: str) -> str:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return await response.text()


async def test_filters_and_search_find_the_right_complaints(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    billing = await _lodge(sessions, name="Wang Fang", phone="13800000001", tier="vip", category="billing")
    urgent = await _lodge(
        sessions,
        name="Li Na",
        phone="13800000002",
        severity="urgent",
        channel="telegram",
        description="没有信号",
    )
    late = await _lodge(sessions, name="Zhao Min", phone="13800000003", days_ago=20)
    await _signed_in(client, "agent1")

    everything = await _page(client, "/complaints")
    # Soonest resolve deadline first: the one lodged 20 days ago is long overdue.
    assert _tickets(everything)[0] == late.ticket
    assert set(_tickets(everything)) == {billing.ticket, urgent.ticket, late.ticket}
    assert "Wang Fang" in everything
    assert "VIP" in everything
    assert "Billing" in everything

    assert _tickets(await _page(client, "/complaints?category=billing")) == [billing.ticket]
    assert _tickets(await _page(client, "/complaints?tier=vip")) == [billing.ticket]
    assert _tickets(await _page(client, "/complaints?severity=urgent")) == [urgent.ticket]
    assert _tickets(await _page(client, "/complaints?channel=telegram")) == [urgent.ticket]
    overdue = await _page(client, "/complaints?overdue=1")
    assert _tickets(overdue) == [late.ticket]
    assert 'class="overdue"' in overdue

    # The search box: a ticket, a phone number in another spelling, a name's beginning, a text.
    assert _tickets(await _page(client, f"/complaints?q={billing.ticket.lower()}")) == [billing.ticket]
    assert _tickets(await _page(client, "/complaints?q=%2B86%20138%200000%200002")) == [urgent.ticket]
    assert _tickets(await _page(client, "/complaints?q=zhao")) == [late.ticket]
    assert _tickets(await _page(client, "/complaints?q=信号")) == [urgent.ticket]
    assert _tickets(await _page(client, "/complaints?q=nobody-says-this")) == []

    refused = await client.get("/complaints?state=lost")
    assert refused.status == 400
    assert "unknown state" in await refused.text()


async def test_the_list_pages_fifty_at_a_time_keeping_the_filters(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        customer = await create_customer(session, None, NewCustomer(name="Chen Jun", phones=("13800000009",)))
        for n in range(53):
            await complaints.lodge(
                session,
                customer_id=customer.id,
                category="billing",
                description=f"bill {n}",
                channel="phone",
                now=utcnow() - timedelta(minutes=n),
                policy=POLICY,
            )
    await _lodge(sessions, name="Other", phone="13800000010", category="network")
    await _signed_in(client, "agent1")

    first = await _page(client, "/complaints?category=billing")
    assert len(_tickets(first)) == 50
    following = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert following is not None
    assert "category=billing" in following.group(1)
    second = await _page(client, following.group(1).replace("&amp;", "&"))
    assert len(_tickets(second)) == 3
    assert not set(_tickets(first)) & set(_tickets(second))
    assert 'rel="prev"' in second
    assert 'rel="next"' not in second


async def test_an_agent_moves_a_complaint_on_and_sees_it_in_the_timeline(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    lodged = await _lodge(sessions, name="Wang Fang", phone="13800000001")
    await _signed_in(client, "agent1")
    page = await _page(client, f"/complaints/{lodged.ticket}")
    assert "Wang Fang" in page
    assert "+8613800000001" in page
    assert "/customers/" in page
    assert "the line drops every evening" in page
    assert "Move to: Acknowledged" in page

    moved = await _form(client, page, lodged.ticket, "move", to="acknowledged", note="called back")
    assert moved.status == 303
    page = await _page(client, moved.headers["Location"].split("#")[0])
    timeline = page.split('id="timeline"')[1]
    assert "Received → Acknowledged" in timeline
    assert "called back" in timeline
    assert "Move to: Investigating" in page

    # Resolving asks for a resolution: without one the page says so and keeps what was typed.
    investigating = await _form(client, page, lodged.ticket, "move", to="investigating")
    assert investigating.status == 303
    page = await _page(client, f"/complaints/{lodged.ticket}")
    refused = await _form(
        client, page, lodged.ticket, "move", to="resolved", resolution=" ", compensation="10 yuan credit"
    )
    assert refused.status == 400
    text = await refused.text()
    assert "resolving needs a resolution text" in text
    assert 'value="10 yuan credit"' in text
    async with sessions() as session:
        state = await session.scalar(select(Complaint.state).where(Complaint.id == lodged.id))
    assert state == "investigating"


async def test_a_move_the_role_may_not_make_has_no_button_and_is_refused(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    lodged = await _lodge(sessions, name="Li Na", phone="13800000002")
    async with sessions() as session:
        agent = await _user(session, "agent1")
        for to in ("acknowledged", "investigating"):
            await complaints.transition(session, agent, lodged.id, to, policy=POLICY)
        await complaints.transition(session, agent, lodged.id, "resolved", resolution="fixed", policy=POLICY)
    await _signed_in(client, "agent1")
    page = await _page(client, f"/complaints/{lodged.ticket}")
    assert "Move to: Closed" not in page
    refused = await _form(client, page, lodged.ticket, "move", to="closed")
    assert refused.status == 403
    assert "Your role may not make this move." in await refused.text()

    await _signed_in(client, "supervisor")
    page = await _page(client, f"/complaints/{lodged.ticket}")
    assert "Move to: Closed" in page
    assert "Move to: Reopened" in page
    closed = await _form(client, page, lodged.ticket, "move", to="closed")
    assert closed.status == 303


async def _user(session: AsyncSession, login: str) -> UserRecord:
    found = await get_by_login(session, login)
    assert found is not None
    return found


async def test_a_note_appears_in_the_timeline(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    lodged = await _lodge(sessions, name="Zhao Min", phone="13800000003")
    await _signed_in(client, "agent1")
    page = await _page(client, f"/complaints/{lodged.ticket}")
    added = await _form(client, page, lodged.ticket, "note", note="customer prefers a call after 6pm")
    assert added.status == 303
    timeline = (await _page(client, f"/complaints/{lodged.ticket}")).split('id="timeline"')[1]
    assert "customer prefers a call after 6pm" in timeline
    assert "Note" in timeline

    empty = await _form(client, page, lodged.ticket, "note", note="  ")
    assert empty.status == 400
    assert "write the note first" in await empty.text()


async def test_assignment_to_an_agent_and_a_department(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    lodged = await _lodge(sessions, name="Chen Jun", phone="13800000004")
    await _signed_in(client, "supervisor")
    page = await _page(client, f"/complaints/{lodged.ticket}")
    given = await _form(client, page, lodged.ticket, "assign", department="billing", assignee="agent2")
    assert given.status == 303
    page = await _page(client, f"/complaints/{lodged.ticket}")
    assert "agent2" in page.split('id="timeline"')[1]
    assert _tickets(await _page(client, "/complaints?assignee=agent2")) == [lodged.ticket]
    assert _tickets(await _page(client, "/complaints?assignee=none")) == []

    # An agent takes a complaint for themselves, but does not hand it to a colleague.
    await _signed_in(client, "agent1")
    page = await _page(client, f"/complaints/{lodged.ticket}")
    refused = await _form(client, page, lodged.ticket, "assign", department="billing", assignee="agent2")
    assert refused.status == 403
    taken = await _form(client, page, lodged.ticket, "assign", department="billing", assignee="agent1")
    assert taken.status == 303
    assert _tickets(await _page(client, "/complaints?assignee=agent1")) == [lodged.ticket]


async def test_a_form_without_the_csrf_token_is_refused(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    lodged = await _lodge(sessions, name="Wang Fang", phone="13800000001")
    await _signed_in(client, "agent1")
    refused = await client.post(f"/complaints/{lodged.ticket}/note", data={"note": "x"})
    assert refused.status == 403


async def test_viewing_a_complaint_is_audited_and_a_missing_ticket_is_a_404_page(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    lodged = await _lodge(sessions, name="Wang Fang", phone="13800000001")
    await _signed_in(client, "agent1")
    await _page(client, f"/complaints/{lodged.ticket}")
    async with sessions() as session:
        reads = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "complaint.read", AuditEntry.customer_id == lodged.customer_id)
        )
    assert reads == 1
    missing = await client.get("/complaints/CD-2000-999999")
    assert missing.status == 404
    assert "There is no complaint with that ticket." in await missing.text()


async def test_the_chinese_page_shows_words_for_state_and_category(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    lodged = await _lodge(sessions, name="王芳", phone="13800000001", category="billing", severity="urgent")
    await sign_in(client, "agent1", "pw-agent1")
    page = await _page(client, "/complaints")
    await client.post("/language", data={"language": "zh", "csrf": csrf_in(page)})
    listed = await _page(client, "/complaints")
    assert "王芳" in listed
    for word in ("已接收", "账单", "紧急"):
        assert word in listed, word
    assert ">received<" not in listed
    assert ">billing<" not in listed
    page = await _page(client, f"/complaints/{lodged.ticket}")
    assert "时间线" in page
    assert "账单" in page


async def test_a_telegram_photo_is_shown_through_the_bot(
    settings: Settings, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    lodged = await _lodge(
        sessions, name="Wang Fang", phone="13800000001", attachments=("telegram:AgACphoto",)
    )
    async with bot_api() as api:
        api.files["AgACphoto"] = b"\xff\xd8 a jpeg"
        async with TestClient(TestServer(create_app(pointed_at(settings, api, "s3cret")))) as client:
            await _signed_in(client, "agent1")
            page = await _page(client, f"/complaints/{lodged.ticket}")
            assert f'<img src="/complaints/{lodged.ticket}/photos/0"' in page
            photo = await client.get(f"/complaints/{lodged.ticket}/photos/0")
            assert photo.status == 200
            assert photo.content_type == "image/jpeg"
            assert await photo.read() == b"\xff\xd8 a jpeg"
            assert (await client.get(f"/complaints/{lodged.ticket}/photos/1")).status == 404
            await client.post("/logout", data={"csrf": csrf_in(page)})
            assert (
                await client.get(f"/complaints/{lodged.ticket}/photos/0", allow_redirects=False)
            ).status == 303


async def test_a_compensation_above_the_limit_waits_for_a_supervisor_from_the_case_page(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    lodged = await _lodge(sessions, name="Zhao Min", phone="13800000008")
    async with sessions() as session:
        agent = await _user(session, "agent1")
        for to in ("acknowledged", "investigating"):
            await complaints.transition(session, agent, lodged.id, to, policy=POLICY)
    await _signed_in(client, "agent1")
    page = await _page(client, f"/complaints/{lodged.ticket}")
    typo = await _form(
        client, page, lodged.ticket, "move", to="resolved", resolution="refund", compensation_amount="lots"
    )
    assert typo.status == 400
    assert "the compensation amount is a sum of money" in await typo.text()

    asked = await _form(
        client,
        page,
        lodged.ticket,
        "move",
        to="resolved",
        resolution="we refund the roaming charges",
        compensation="bill credit",
        compensation_amount="500",
    )
    assert asked.status == 303
    page = await _page(client, f"/complaints/{lodged.ticket}")
    # Still investigating and waiting: the agent is offered no other move meanwhile.
    assert "Move to:" not in page
    async with sessions() as session:
        state = await session.scalar(select(Complaint.state).where(Complaint.id == lodged.id))
    assert state == "investigating"

    await _signed_in(client, "supervisor")
    assert lodged.ticket in await _page(client, "/complaints/escalations")
