"""A small demo data set: every tier, a blacklisted caller, agents, a supervisor, an admin,
and a few complaints at different points of their lifecycle for the workbench.

Loading it twice changes nothing but the demo users' passwords, which are new each
run and printed, because only their hashes are stored."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import campaigns
from handlers.accounts import save_user
from handlers.complaints import lifecycle, lodging
from handlers.complaints.policy import ComplaintPolicy
from handlers.defaults import TIMEZONE
from handlers.identities import normalise_phone
from storage import complaints as complaints_repo
from storage import customers as repo
from storage.customers import Identity, NewCustomerRow
from storage.models.base import utcnow
from storage.routing import presence, queues
from storage.users import get_by_login

PRODUCTS = (
    ("mobile-basic", "Mobile Basic 30GB", "mobile", Decimal("39.00")),
    ("mobile-unlimited", "Mobile Unlimited", "mobile", Decimal("129.00")),
    ("broadband-100", "Home Broadband 100M", "broadband", Decimal("59.00")),
    ("broadband-1000", "Home Broadband 1000M", "broadband", Decimal("149.00")),
    ("iptv", "IPTV Family", "tv", Decimal("30.00")),
    ("cloud-200", "Cloud Storage 200GB", "value-added", Decimal("10.00")),
)


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    phone: str
    tier: str
    language: str
    region: str
    products: tuple[str, ...]
    blacklist_reason: str | None = None


CUSTOMERS = (
    DemoCustomer(
        "王芳",
        "+8613800000001",
        "vip",
        "zh",
        "Guangzhou",
        ("mobile-unlimited", "broadband-1000", "iptv"),
    ),
    DemoCustomer(
        "李强",
        "+8613800000002",
        "preferred",
        "zh",
        "Shenzhen",
        ("mobile-unlimited", "broadband-100"),
    ),
    DemoCustomer(
        "Emily Carter",
        "+8613800000003",
        "preferred",
        "en",
        "Shanghai",
        ("mobile-basic", "cloud-200"),
    ),
    DemoCustomer("张伟", "+8613800000004", "regular", "zh", "Guangzhou", ("mobile-basic",)),
    DemoCustomer("刘洋", "+8613800000005", "regular", "zh", "Foshan", ("broadband-100",)),
    DemoCustomer("陈静", "+8613800000006", "regular", "zh", "Guangzhou", ("mobile-basic", "iptv")),
    DemoCustomer("John Miller", "+8613800000007", "regular", "en", "Beijing", ("mobile-basic",)),
    DemoCustomer("赵敏", "+8613800000008", "regular", "zh", "Dongguan", ("broadband-100", "iptv")),
    DemoCustomer("黄磊", "+8613800000009", "regular", "zh", "Guangzhou", ("mobile-unlimited",)),
    DemoCustomer("周杰", "+8613800000010", "regular", "zh", "Zhuhai", ()),
    DemoCustomer(
        "孙骗",
        "+8613800000666",
        "regular",
        "zh",
        "Guangzhou",
        ("mobile-basic",),
        blacklist_reason="repeated abusive calls to agents",
    ),
)


@dataclass(frozen=True)
class DemoQueue:
    description: str
    opens: str | None
    closes: str | None
    overflow: str | None
    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)


QUEUES = {
    "vip": DemoQueue("VIP line", "08:00", "22:00", "general"),
    "complaints": DemoQueue("Complaints desk", "08:00", "20:00", "general"),
    "english": DemoQueue("English service", "09:00", "18:00", "general", days=(0, 1, 2, 3, 4)),
    "general": DemoQueue("General queue", "08:00", "22:00", "overflow"),
    "overflow": DemoQueue("Night service and callbacks", None, None, None),
}

USERS = (
    ("agent1", "agent", "Agent One", ("general", "complaints", "vip"), ("zh", "en")),
    ("agent2", "agent", "Agent Two", ("general", "billing"), ("zh",)),
    ("supervisor", "supervisor", "Supervisor", ("general", "complaints", "vip"), ("zh", "en")),
    # Manages people (`/api/v1/users`, `contactdesk user`); answers no calls.
    ("admin", "admin", "Administrator", (), ("zh", "en")),
)


@dataclass(frozen=True)
class DemoComplaint:
    phone: str
    category: str
    severity: str
    description: str
    days_ago: int
    moves: tuple[str, ...] = ()
    resolution: str | None = None


COMPLAINTS = (
    DemoComplaint(
        "+8613800000001",
        "network",
        "urgent",
        "家里宽带每天晚上八点后频繁掉线，已经持续一周。",
        2,  # an urgent complaint has three days: this one is due tomorrow
        ("acknowledged",),
    ),
    DemoComplaint("+8613800000002", "billing", "standard", "本月账单多扣了 30 元国际漫游费，我没有出国。", 2),
    DemoComplaint(
        "+8613800000003",
        "service",
        "standard",
        "The shop promised a callback about my SIM swap and nobody called.",
        1,
        ("acknowledged", "investigating"),
    ),
    DemoComplaint(
        "+8613800000004",
        "product",
        "standard",
        "新办的流量包没有生效。",
        6,
        ("acknowledged", "investigating", "resolved"),
        resolution="流量包已重新开通，并补发本月流量。",
    ),
)


DEMO_CAMPAIGN = campaigns.CampaignSpec(
    name="Quarterly satisfaction, VIP and preferred",
    kind="satisfaction",
    survey_kind="csat",
    audience={"tiers": ["vip", "preferred"]},
)


async def load_demo(session: AsyncSession, policy: ComplaintPolicy | None = None) -> dict[str, str]:
    """Load (or refresh) the demo data; returns each demo user's new password."""
    product_ids = {
        code: await repo.get_or_create_product(session, code, name, category, price)
        for code, name, category, price in PRODUCTS
    }
    for demo in CUSTOMERS:
        phone = normalise_phone(demo.phone)
        customer_id = await repo.find_id_by_identity(session, "phone", phone)
        if customer_id is None:
            new = NewCustomerRow(name=demo.name, tier=demo.tier)
            customer_id = await repo.create(session, new, [Identity("phone", phone)])
        # Set on a new customer too, so that these columns are written in one place.
        await repo.update_fields(
            session,
            customer_id,
            name=demo.name,
            tier=demo.tier,
            language=demo.language,
            region=demo.region,
            timezone=TIMEZONE,
            blacklisted=demo.blacklist_reason is not None,
            blacklist_reason=demo.blacklist_reason,
        )
        for code in demo.products:
            price = next(p[3] for p in PRODUCTS if p[0] == code)
            await repo.set_holding(session, customer_id, product_ids[code], date(2024, 1, 1), price)
    await session.commit()

    for name, queue in QUEUES.items():
        await queues.upsert_queue(
            session,
            name,
            description=queue.description,
            opens=queue.opens,
            closes=queue.closes,
            days=queue.days,
            overflow=queue.overflow,
        )
    await session.commit()

    passwords: dict[str, str] = {}
    for login, role, name, skills, languages in USERS:
        password = secrets.token_urlsafe(9)
        await save_user(session, login, password, role=role, name=name, skills=skills, languages=languages)
        passwords[login] = password
        if role == "agent":
            user = await get_by_login(session, login)
            if user is not None:
                await presence.set_agent_state(session, user.id, "available", utcnow())
    await session.commit()

    await _complaints(session, policy or ComplaintPolicy())

    # A draft for the supervisor's campaigns page to start from (once).
    if not any(c.name == DEMO_CAMPAIGN.name for c in await campaigns.list_all(session)):
        await campaigns.create(session, DEMO_CAMPAIGN, created_by=None, schedule=False)
    return passwords


async def _complaints(session: AsyncSession, policy: ComplaintPolicy) -> None:
    """The demo complaints, lodged and moved on through the use cases (once: a customer who
    has a complaint already keeps what they have)."""
    agent = await get_by_login(session, "agent1")
    for demo in COMPLAINTS:
        customer_id = await repo.find_id_by_identity(session, "phone", normalise_phone(demo.phone))
        if (
            customer_id is None
            or agent is None
            or await complaints_repo.search(session, customer_id=customer_id, limit=1)
        ):
            continue
        lodged_at = utcnow() - timedelta(days=demo.days_ago)
        complaint = await lodging.lodge(
            session,
            customer_id=customer_id,
            category=demo.category,
            severity=demo.severity,
            description=demo.description,
            channel="phone",
            actor=agent,
            now=lodged_at,
            policy=policy,
        )
        for step, state in enumerate(demo.moves, start=1):
            await lifecycle.transition(
                session,
                agent,
                complaint.id,
                state,
                resolution=demo.resolution if state == "resolved" else None,
                now=lodged_at + timedelta(hours=4 * step),
                policy=policy,
            )
