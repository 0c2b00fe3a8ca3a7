"""The half-yearly tier review as a supervisor meets it: proposals graded from stored
history within the quotas, decided over HTTP, downgrades told to the customer on the right
day of their own calendar and applied on theirs, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sender import RateLimiter, TelegramChannel
from callcenter.app import create_app
from callcenter.bootstrap import policies_from
from callcenter.keys import EVENTS
from callcenter.settings import Settings
from callcenter.telegram_webhook import BOT
from handlers import outbox
from handlers.tiers.decisions import apply_due
from handlers.tiers.review import run_review
from handlers.tiers.worker import pass_once
from storage.audit import SYSTEM
from storage.models import (
    Customer,
    CustomerIdentity,
    MonthlySpend,
    OutboxMessage,
    TierProposal,
    TierReview,
)
from tests.conftest import Staff
from tests.console_client import csrf_in, sign_in
from tests.telegram_standin import bot_api

Client = TestClient[web.Request, web.Application]
# A review on 15 March 2026 reads September 2025 to February 2026.
REVIEW_DAY = datetime(2026, 3, 15, 4, 0, tzinfo=UTC)
MONTHS = [date(2025, m, 1) for m in range(9, 13)] + [date(2026, 1, 1), date(2026, 2, 1)]


async def add_customer(
    session: AsyncSession,
    name: str,
    monthly: int,
    *,
    tier: str = "regular",
    blacklisted: bool = False,
    late: int = 0,
    timezone: str | None = None,
    telegram: str | None = None,
) -> int:
    customer = Customer(
        name=name, tier=tier, blacklisted=blacklisted, language="en", timezone=timezone, attributes={}
    )
    session.add(customer)
    await session.flush()
    for n, month in enumerate(MONTHS):
        session.add(
            MonthlySpend(customer_id=customer.id, month=month, amount=Decimal(monthly), paid_late=n < late)
        )
    # Outside the six months: ignored.
    session.add(MonthlySpend(customer_id=customer.id, month=date(2025, 8, 1), amount=Decimal(99_999)))
    if telegram:
        session.add(CustomerIdentity(customer_id=customer.id, kind="telegram", value=telegram))
    await session.flush()
    return customer.id


def policy(settings: Settings) -> Any:
    return policies_from(settings).tiers


async def proposals_of(
    sessions: async_sessionmaker[AsyncSession], state: str = "pending"
) -> list[TierProposal]:
    async with sessions() as session:
        found = await session.execute(select(TierProposal).where(TierProposal.state == state))
        return list(found.scalars())


async def test_a_hundred_equal_customers_give_exactly_fifteen_vip_and_thirty_preferred_and_no_blacklisted(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with sessions() as session:
        for n in range(100):
            await add_customer(session, f"C{n}", 100)  # all tied
        banned = await add_customer(session, "Banned", 10_000, blacklisted=True)
        await session.commit()
        outcome = await run_review(session, SYSTEM, policy(settings), REVIEW_DAY)
    assert outcome is not None
    assert (outcome.review.graded, outcome.review.vip_quota, outcome.review.preferred_quota) == (100, 15, 30)
    assert outcome.proposed == {"regular→vip": 15, "regular→preferred": 30}
    assert outcome.review.revenue == Decimal(100 * 6 * 100 + 6 * 10_000)
    pending = await proposals_of(sessions)
    assert banned not in {p.customer_id for p in pending}
    first = min(pending, key=lambda p: p.id)
    assert (first.spend, first.abc, first.late_months) == (Decimal(600), "A", 0)


async def test_the_review_ranks_by_spend_and_payment_record_and_downgrades_who_fell_behind(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with sessions() as session:
        ids = [await add_customer(session, f"C{n}", 10 + n) for n in range(20)]  # C19 spends most
        late = await add_customer(session, "Late payer", 1_000, late=6)  # most spend, always late
        fallen = await add_customer(session, "Fallen", 1, tier="vip")
        await session.commit()
        outcome = await run_review(session, SYSTEM, policy(settings), REVIEW_DAY)
    assert outcome is not None
    assert (outcome.review.vip_quota, outcome.review.preferred_quota) == (3, 6)  # of 22
    pending = {p.customer_id: p for p in await proposals_of(sessions)}
    assert pending[fallen].to_tier == "regular"
    assert pending[fallen].direction == "down"
    assert pending[late].abc == "A"
    assert pending[late].late_months == 6
    vips = {c for c, p in pending.items() if p.to_tier == "vip"}
    assert late in vips  # a tenth of 6,000 still outweighs the others
    assert ids[19] in vips
    assert ids[18] in vips


async def test_running_the_review_again_leaves_one_pending_proposal_per_customer(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with sessions() as session:
        for n in range(40):
            await add_customer(session, f"C{n}", 50 + n)
        await session.commit()
        first = await run_review(session, SYSTEM, policy(settings), REVIEW_DAY)
        second = await run_review(session, SYSTEM, policy(settings), REVIEW_DAY + timedelta(hours=1))
    assert first is not None
    assert second is not None
    assert second.superseded == first.review.proposals
    pending = await proposals_of(sessions)
    assert len(pending) == first.review.proposals == 18
    assert len({p.customer_id for p in pending}) == len(pending)
    assert {p.review_id for p in pending} == {second.review.id}


async def test_two_workers_finding_the_review_due_run_it_once(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with sessions() as session:
        for n in range(30):
            await add_customer(session, f"C{n}", 50 + n)
        await session.commit()
    rules = policy(settings)
    outcomes = await asyncio.gather(*(pass_once(sessions, rules, REVIEW_DAY) for _ in range(2)))
    assert sorted(o is None for o in outcomes) == [False, True]
    async with sessions() as session:
        assert (await session.execute(select(func.count()).select_from(TierReview))).scalar() == 1
        # In the same half year it is not due again; in the next it is.
        assert await pass_once(sessions, rules, REVIEW_DAY + timedelta(days=60)) is None
        assert await pass_once(sessions, rules, datetime(2026, 7, 1, 1, tzinfo=UTC)) is not None
    assert len(await proposals_of(sessions)) == 13  # 4 + 9 of 30


async def reviewed(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, **extra: Any
) -> dict[str, int]:
    """Ten customers: one rich VIP-to-be with a Telegram chat, one VIP who stopped spending."""
    async with sessions() as session:
        ids = {f"C{n}": await add_customer(session, f"C{n}", 10) for n in range(8)}
        ids["rich"] = await add_customer(session, "Rich", 5_000, telegram="7001")
        ids["fallen"] = await add_customer(session, "Fallen", 1, tier="vip", telegram="7002", **extra)
        await session.commit()
        assert await run_review(session, SYSTEM, policy(settings), REVIEW_DAY) is not None
    return ids


async def test_agents_may_not_see_or_decide_proposals(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await reviewed(sessions, settings)
    assert (await client.get("/api/v1/tiers/proposals", headers=staff.agent)).status == 403
    [some, *_] = await proposals_of(sessions)
    for action in ("approve", "reject"):
        response = await client.post(
            f"/api/v1/tiers/proposals/{some.id}/{action}", json={}, headers=staff.agent
        )
        assert response.status == 403
    response = await client.post(
        "/api/v1/tiers/proposals/decide", json={"ids": [some.id], "decision": "approve"}, headers=staff.agent
    )
    assert response.status == 403
    assert (await client.get("/api/v1/tiers/proposals")).status == 401
    assert len(await proposals_of(sessions)) == 2


async def test_a_supervisor_approves_an_upgrade_and_the_customer_is_vip_at_once_with_its_history(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ids = await reviewed(sessions, settings)
    listed = await (await client.get("/api/v1/tiers/proposals", headers=staff.supervisor)).json()
    by_customer = {p["customer_id"]: p for p in listed["proposals"]}
    up = by_customer[ids["rich"]]
    assert (up["from_tier"], up["to_tier"], up["direction"], up["abc"]) == ("regular", "vip", "up", "A")
    assert Decimal(up["spend"]) == Decimal(30_000)
    down = by_customer[ids["fallen"]]
    # One VIP place (10% of ten customers): not while the fallen VIP still holds it.
    refused = await client.post(
        f"/api/v1/tiers/proposals/{up['id']}/approve", json={}, headers=staff.supervisor
    )
    assert refused.status == 409
    assert "approve downgrades first" in (await refused.json())["message"]
    response = await client.post(
        f"/api/v1/tiers/proposals/{down['id']}/approve", json={}, headers=staff.supervisor
    )
    assert (await response.json())["state"] == "approved"
    response = await client.post(
        f"/api/v1/tiers/proposals/{up['id']}/approve", json={"reason": "loyal"}, headers=staff.supervisor
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["state"] == "applied"
    profile = await (await client.get(f"/api/v1/customers/{ids['rich']}", headers=staff.supervisor)).json()
    assert profile["tier"] == "vip"
    [change] = profile["tier_history"]
    assert (change["old"], change["new"], change["by"]) == ("regular", "vip", "supervisor")
    assert "loyal" in change["reason"]
    assert profile["tier_proposals"][0]["decided_by"] == "supervisor"
    again = await client.post(f"/api/v1/tiers/proposals/{up['id']}/reject", json={}, headers=staff.supervisor)
    assert again.status == 409
    async with sessions() as session:
        told = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.address == "7001"))
        ).scalar_one()
    assert (told.template, told.status) == ("tier_upgraded", "pending")


async def test_bulk_approval_decides_downgrades_first_so_the_upgrades_fit_the_quota(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ids = await reviewed(sessions, settings)
    pending = {p.customer_id: p.id for p in await proposals_of(sessions)}
    response = await client.post(
        "/api/v1/tiers/proposals/decide",
        json={"ids": [pending[ids["rich"]], pending[ids["fallen"]]], "decision": "approve"},
        headers=staff.supervisor,
    )
    assert await response.json() == {"decided": [pending[ids["fallen"]], pending[ids["rich"]]], "refused": []}


async def test_a_rejected_proposal_changes_nothing_and_bulk_approval_lists_what_it_refused(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ids = await reviewed(sessions, settings)
    pending = {p.customer_id: p.id for p in await proposals_of(sessions)}
    response = await client.post(
        f"/api/v1/tiers/proposals/{pending[ids['fallen']]}/reject",
        json={"reason": "key account"},
        headers=staff.supervisor,
    )
    assert (await response.json())["state"] == "rejected"
    response = await client.post(
        "/api/v1/tiers/proposals/decide",
        json={"ids": [*pending.values(), 999_999], "decision": "approve"},
        headers=staff.admin,
    )
    body = await response.json()
    assert body["decided"] == []
    refused = {r["id"]: r["message"] for r in body["refused"]}
    assert refused == {
        pending[ids["fallen"]]: "this proposal is already rejected",
        pending[ids["rich"]]: "vip would be over its quota of 1 customers; approve downgrades first",
        999_999: "no such tier proposal",
    }
    async with sessions() as session:
        tiers = {i: t for i, t in (await session.execute(select(Customer.id, Customer.tier))).all()}
    assert (tiers[ids["fallen"]], tiers[ids["rich"]]) == ("vip", "regular")
    bad = await client.post(
        "/api/v1/tiers/proposals/decide", json={"ids": [], "decision": "x"}, headers=staff.admin
    )
    assert bad.status == 400


@pytest.mark.parametrize(
    ("zone", "approved_at", "notice_at", "effective_at"),
    [
        # Approved on 15 March in Shanghai (UTC+8): effective 20 March at their midnight,
        # told on 18 March at 10:00 their time.
        (
            "Asia/Shanghai",
            REVIEW_DAY,
            datetime(2026, 3, 18, 2, tzinfo=UTC),
            datetime(2026, 3, 19, 16, tzinfo=UTC),
        ),
        # The same moment is still 14 March in Los Angeles (UTC-7 in March).
        (
            "America/Los_Angeles",
            REVIEW_DAY,
            datetime(2026, 3, 17, 17, tzinfo=UTC),
            datetime(2026, 3, 19, 7, tzinfo=UTC),
        ),
    ],
)
async def test_an_approved_downgrade_is_told_on_the_right_day_of_the_customer_and_applied_after(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    staff: Staff,
    zone: str,
    approved_at: datetime,
    notice_at: datetime,
    effective_at: datetime,
) -> None:
    ids = await reviewed(sessions, settings, timezone=zone)
    pending = {p.customer_id: p.id for p in await proposals_of(sessions)}
    async with bot_api() as api:
        configured = settings.model_copy(
            update={
                "bot_token": "123456:TEST",
                "telegram_api_base": api.base_url,
                "telegram_webhook_secret": "s",
            }
        )
        app = create_app(configured)
        from callcenter.keys import CLOCK

        app[CLOCK] = lambda: approved_at
        async with TestClient(TestServer(app)) as desk:
            response = await desk.post(
                f"/api/v1/tiers/proposals/{pending[ids['fallen']]}/approve",
                json={"reason": "no spend"},
                headers=staff.supervisor,
            )
            assert response.status == 200, await response.text()
            decided = await response.json()
            assert decided["state"] == "approved"
            assert datetime.fromisoformat(decided["effective_at"]) == effective_at
            channel = TelegramChannel(desk.server.app[BOT], RateLimiter(1000, 0))
            events = desk.server.app[EVENTS]
            async with sessions() as session:
                assert (
                    await outbox.drain_once(
                        session, channel, events, clock=lambda: notice_at - timedelta(minutes=1)
                    )
                    == {}
                )
                assert api.sent() == []
                assert await outbox.drain_once(session, channel, events, clock=lambda: notice_at) == {
                    "sent": 1
                }
            [told] = api.sent()
            local_day = effective_at.astimezone(ZoneInfo(zone)).date().isoformat()
            assert told.text == (
                "Please note: after our half-yearly customer review your customer tier changes from VIP "
                f"to Regular on {local_day}. If you have a question, reply to this message or call us."
            )
            assert told.params["chat_id"] == "7002" or str(told.params["chat_id"]) == "7002"
    async with sessions() as session:
        assert await apply_due(session, effective_at - timedelta(seconds=1)) == 0
        assert await apply_due(session, effective_at) == 1
        tier = (await session.execute(select(Customer.tier).where(Customer.id == ids["fallen"]))).scalar_one()
        assert tier == "regular"
        # A new review does not propose the same downgrade while it waits, nor after.
    assert (await proposals_of(sessions, "applied"))[0].decided_by == "supervisor"


async def test_the_tiers_page_lists_the_proposals_and_its_bulk_form_approves_the_ticked_ones(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ids = await reviewed(sessions, settings)
    pending = {p.customer_id: p.id for p in await proposals_of(sessions)}
    assert (await sign_in(client, "agent1", "pw-agent1")).status == 302
    assert (await client.get("/supervisor/tiers")).status == 403
    await client.post("/logout", data={"csrf": csrf_in(await (await client.get("/agent")).text())})
    assert (await sign_in(client, "supervisor", "pw-supervisor")).status == 302
    page = await (await client.get("/supervisor/tiers")).text()
    assert "Rich" in page
    assert "Fallen" in page
    assert "¥30,000" in page
    assert "Quotas: VIP at most 1, preferred at most 3." in page
    response = await client.post(
        "/supervisor/tiers/decide",
        data={
            "csrf": csrf_in(page),
            "ids": [str(pending[ids["fallen"]]), str(pending[ids["rich"]])],
            "decision": "approve",
            "reason": "half-year review",
            "back": "/supervisor/tiers?state=pending",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/supervisor/tiers?state=pending"
    assert "No proposals here." in await (await client.get("/supervisor/tiers")).text()
    applied = await (await client.get("/supervisor/tiers?state=applied")).text()
    assert "Rich" in applied
    assert "half-year review" in applied
    waiting = await (await client.get("/supervisor/tiers?state=approved&direction=down")).text()
    assert "Fallen" in waiting


async def test_a_row_refused_on_the_page_says_why_in_chinese(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ids = await reviewed(sessions, settings)
    pending = {p.customer_id: p.id for p in await proposals_of(sessions)}
    assert (await sign_in(client, "supervisor", "pw-supervisor")).status == 302
    page = await (await client.get("/supervisor/tiers", headers={"Accept-Language": "zh-CN"})).text()
    await client.post("/language", data={"csrf": csrf_in(page), "language": "zh"})
    page = await (await client.get("/supervisor/tiers")).text()
    assert "客户等级评定" in page
    response = await client.post(
        "/supervisor/tiers/decide",
        data={"csrf": csrf_in(page), "one": f"{pending[ids['rich']]}:approve"},
        allow_redirects=False,
    )
    assert response.status == 409
    assert "未处理" in await response.text()


async def test_the_customer_profile_shows_the_waiting_downgrade_then_its_history_with_the_approver(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ids = await reviewed(sessions, settings)
    pending = {p.customer_id: p.id for p in await proposals_of(sessions)}
    assert (await sign_in(client, "supervisor", "pw-supervisor")).status == 302
    profile = f"/customers/{ids['fallen']}"
    assert (
        "The tier review proposes VIP → Regular; it waits for a supervisor."
        in await (await client.get(profile)).text()
    )
    response = await client.post(
        f"/api/v1/tiers/proposals/{pending[ids['fallen']]}/approve",
        json={"reason": "no spend"},
        headers=staff.supervisor,
    )
    decided = await response.json()
    page = await (await client.get(profile)).text()
    assert "VIP → Regular approved by supervisor on" in page
    async with sessions() as session:
        assert await apply_due(session, datetime.fromisoformat(decided["effective_at"])) == 1
    page = await (await client.get(profile)).text()
    assert "approved by supervisor" not in page
    history = page.split('id="tier-history"')[1].split("</section>")[0]
    assert "<td>supervisor</td>" in history
    assert f"tier review {decided['review_id']}: no spend" in history


async def test_bills_imported_from_the_billing_export_are_what_the_review_grades(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    from io import StringIO

    from handlers.tiers.spend_import import import_spend

    async with sessions() as session:
        first = await add_customer(session, "By id", 0)
        second = Customer(name="By phone", tier="regular", attributes={})
        session.add(second)
        await session.flush()
        session.add(CustomerIdentity(customer_id=second.id, kind="phone", value="+8613812345678"))
        await session.commit()
        export = StringIO(
            "customer_id,phone,month,amount,paid_late\n"
            f"{first},,2026-01,120.50,no\n"
            ",138 1234 5678,2026-01,300,yes\n"
            ",138 1234 5678,2026-01,310,yes\n"  # the same month again: the last wins
            f"{first},,2026-13,1,no\n"
            ",13900000000,2026-01,1,no\n"
            f"{first},,2026-02,lots,no\n"
        )
        outcome = await import_spend(session, export, region="CN")
        assert outcome.loaded == 2
        assert outcome.rejected == [
            (5, "month is '2026-13'; write it as 2026-06"),
            (6, "no such customer"),
            (7, "amount is 'lots', not a number"),
        ]
        bills = (
            await session.execute(select(MonthlySpend).where(MonthlySpend.month == date(2026, 1, 1)))
        ).scalars()
        assert {(b.customer_id, b.amount, b.paid_late) for b in bills} == {
            (first, Decimal("120.50"), False),
            (second.id, Decimal("310.00"), True),
        }


def test_the_operator_loads_bills_and_runs_a_review_from_the_command_line(tmp_path: Path) -> None:
    from tests.test_cli import contactdesk

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert contactdesk("demo", database_url=url, cwd=tmp_path).returncode == 0
    bills = tmp_path / "bills.csv"
    bills.write_text(
        "phone,month,amount,paid_late\n+8613800000010,2026-01,880,no\n13800000010,2026-02,x,no\n"
    )
    loaded = contactdesk("import", "spend", str(bills), database_url=url, cwd=tmp_path)
    assert loaded.returncode == 1
    assert "1 monthly bills loaded, 1 rows rejected" in loaded.stdout
    assert "line 3: amount is 'x', not a number" in loaded.stderr
    review = contactdesk("tiers", "review", database_url=url, cwd=tmp_path)
    assert review.returncode == 0, review.stderr
    assert "Tier review 1: 50 customers graded (VIP quota 7, preferred quota 15)" in review.stdout
    assert "proposals wait for a supervisor at /supervisor/tiers" in review.stdout


async def test_a_proposal_for_a_customer_whose_tier_was_changed_by_hand_since_is_not_approved(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ids = await reviewed(sessions, settings)
    pending = {p.customer_id: p.id for p in await proposals_of(sessions)}
    changed = await client.patch(
        f"/api/v1/customers/{ids['fallen']}",
        json={"tier": "preferred", "reason": "call"},
        headers=staff.supervisor,
    )
    assert changed.status == 200, await changed.text()
    response = await client.post(
        f"/api/v1/tiers/proposals/{pending[ids['fallen']]}/approve", json={}, headers=staff.supervisor
    )
    assert response.status == 409
    assert "changed since the review" in (await response.json())["message"]
