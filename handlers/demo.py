"""The demo data set: every tier, a blacklisted caller, customers linked to Telegram, agents,
a supervisor, an admin, complaints in every state of their lifecycle (one overdue, one
urgent), and the history a floor has after a while: 60 days of calls, 12 weeks of survey
answers and two finished campaigns (handlers/demo_calls.py, handlers/demo_campaigns.py).

Loading it twice changes nothing but the demo users' passwords, which are new each
run and printed, because only their hashes are stored, and adds the calls and survey
answers of the time that has passed since. The demo agents are left available, their
earlier test calls hung up, so the printed test call rings one of them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import campaigns, surveys
from handlers.accounts import save_user
from handlers.complaints import lifecycle, lodging
from handlers.complaints.policy import ComplaintPolicy
from handlers.defaults import TIMEZONE
from handlers.demo_calls import Agents, Caller, load_calls, load_surveys
from handlers.demo_campaigns import Recipient, load_campaigns
from handlers.demo_questionnaires import load_questionnaires
from handlers.demo_spend import load_spend
from handlers.errors import NotFound
from handlers.identities import normalise_phone
from handlers.routing import calls
from storage import complaints as complaints_repo
from storage import customers as repo
from storage import surveys as surveys_repo
from storage.customers import Identity, NewCustomerRow
from storage.events import InProcessBus
from storage.models.base import utcnow
from storage.routing import contact_log, presence, queues
from storage.users import UserRecord, get_by_login

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
    telegram: str | None = None
    birthday: str | None = None  # as the customer import keeps it (docs/programme.md)


# Whose birthday is the day the demo is loaded, in the operator's zone: the care draft on the
# campaigns page, started, has someone to greet whatever the day.
BORN_TODAY = "+8613800000004"


CUSTOMERS = (
    DemoCustomer(
        "王芳",
        "+8613800000001",
        "vip",
        "zh",
        "Guangzhou",
        ("mobile-unlimited", "broadband-1000", "iptv"),
        telegram="7100000001",
        birthday="1982-07-19",
    ),
    DemoCustomer(
        "李强",
        "+8613800000002",
        "preferred",
        "zh",
        "Shenzhen",
        ("mobile-unlimited", "broadband-100"),
        telegram="7100000002",
    ),
    DemoCustomer(
        "Emily Carter",
        "+8613800000003",
        "preferred",
        "en",
        "Shanghai",
        ("mobile-basic", "cloud-200"),
        telegram="7100000003",
        birthday="1990/11/02",
    ),
    DemoCustomer(
        "张伟", "+8613800000004", "regular", "zh", "Guangzhou", ("mobile-basic",), telegram="7100000004"
    ),
    DemoCustomer(
        "刘洋", "+8613800000005", "regular", "zh", "Foshan", ("broadband-100",), telegram="7100000005"
    ),
    DemoCustomer(
        "陈静",
        "+8613800000006",
        "regular",
        "zh",
        "Guangzhou",
        ("mobile-basic", "iptv"),
        telegram="7100000006",
    ),
    DemoCustomer(
        "John Miller", "+8613800000007", "regular", "en", "Beijing", ("mobile-basic",), telegram="7100000007"
    ),
    DemoCustomer(
        "赵敏",
        "+8613800000008",
        "regular",
        "zh",
        "Dongguan",
        ("broadband-100", "iptv"),
        telegram="7100000008",
    ),
    DemoCustomer(
        "黄磊", "+8613800000009", "regular", "zh", "Guangzhou", ("mobile-unlimited",), telegram="7100000009"
    ),
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

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = (
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
)
_CITIES = ("Guangzhou", "Shenzhen", "Foshan", "Dongguan", "Zhuhai", "Huizhou")
_HOLDINGS = (
    ("mobile-basic",),
    ("broadband-100",),
    ("mobile-unlimited", "iptv"),
    ("mobile-basic", "cloud-200"),
)

# The rest of the base, who make most of the calls: regular customers with a preferred one
# every eighth, three in four also on Telegram.
CALLERS = tuple(
    DemoCustomer(
        _SURNAMES[n % len(_SURNAMES)] + _GIVEN[(n * 7) % len(_GIVEN)],
        f"+86139000000{n:02d}",
        "preferred" if n % 8 == 0 else "regular",
        "zh",
        _CITIES[n % len(_CITIES)],
        _HOLDINGS[n % len(_HOLDINGS)],
        telegram=None if n % 4 == 3 else f"72000000{n:02d}",
    )
    for n in range(1, 41)
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

# The agent the printed test call rings: the only one with the VIP line's skill.
TEST_CALL_AGENT = "agent1"

USERS = (
    ("agent1", "agent", "Agent One", ("general", "complaints", "vip"), ("zh", "en")),
    ("agent2", "agent", "Agent Two", ("general", "billing", "network"), ("zh",)),
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
    answer: int | None = None  # the customer's CSAT score once it is closed


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
    DemoComplaint(
        "+8613800000005",
        "network",
        "standard",
        "小区宽带三周来每天下午断网，报修两次都没有人上门。",
        19,  # a standard complaint has 15 days: this one is four days overdue
        ("acknowledged", "investigating"),
    ),
    DemoComplaint(
        "+8613800000006",
        "billing",
        "standard",
        "IPTV 退订后仍在扣月租。",
        12,
        ("acknowledged", "investigating", "resolved", "closed"),
        resolution="已退订 IPTV 并退还两个月月租 60 元。",
        answer=4,
    ),
    DemoComplaint(
        "+8613800000007",
        "network",
        "standard",
        "Mobile data drops in my office building every afternoon.",
        9,
        ("acknowledged", "investigating", "resolved", "reopened"),
        resolution="Reset the network settings on the phone.",
    ),
)


DEMO_CAMPAIGN = campaigns.CampaignSpec(
    name="Quarterly satisfaction, VIP and preferred",
    kind="satisfaction",
    survey_kind="csat",
    audience={"tiers": ["vip", "preferred"]},
)


async def load_demo(
    session: AsyncSession, policy: ComplaintPolicy | None = None, now: datetime | None = None
) -> dict[str, str]:
    """Load (or refresh) the demo data; returns each demo user's new password."""
    now = now or utcnow()
    customers = await _customers(session, now)
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
    await session.commit()
    users = {login: await _user(session, login) for login, *_ in USERS}
    await _free_agents(session, [u for u in users.values() if u.role == "agent"], now)

    await _complaints(session, policy or ComplaintPolicy(), users["agent1"], users["supervisor"])

    # A draft for the supervisor's campaigns page to start from (once).
    if not any(c.name == DEMO_CAMPAIGN.name for c in await campaigns.list_all(session)):
        await campaigns.create(session, DEMO_CAMPAIGN, created_by=None, schedule=False)

    people = [(demo, customers[demo.phone]) for demo in (*CUSTOMERS, *CALLERS)]
    callers = [
        Caller(
            customer_id=customer_id,
            phone=normalise_phone(demo.phone),
            tier=demo.tier,
            language=demo.language,
            blacklisted=demo.blacklist_reason is not None,
            # The named customers call now and then; the rest of the base makes most calls.
            weight=0.15 if demo in CUSTOMERS else 1.0,
        )
        for demo, customer_id in people
    ]
    agents = Agents(senior=users["agent1"].id, junior=users["agent2"].id)
    await load_calls(session, callers, agents, now)
    await load_surveys(session, callers, agents, now)
    recipients = [
        Recipient(customer_id, demo.tier, demo.language, demo.telegram, demo.blacklist_reason is not None)
        for demo, customer_id in people
    ]
    await load_campaigns(session, recipients, now)
    await load_questionnaires(session, recipients, now)
    prices = {code: price for code, _, _, price in PRODUCTS}
    totals = {demo.phone: sum((prices[c] for c in demo.products), Decimal(0)) for demo, _ in people}
    await load_spend(session, [(demo.phone, customer_id) for demo, customer_id in people], totals, now)
    return passwords


async def _user(session: AsyncSession, login: str) -> UserRecord:
    user = await get_by_login(session, login)
    if user is None:  # saved a moment ago
        raise NotFound(f"demo user {login} is missing")
    return user


async def _customers(session: AsyncSession, now: datetime) -> dict[str, int]:
    """Every demo customer, created once and set to the demo's values; their ids by phone."""
    today = now.astimezone(ZoneInfo(TIMEZONE)).date()
    product_ids = {
        code: await repo.get_or_create_product(session, code, name, category, price)
        for code, name, category, price in PRODUCTS
    }
    prices = {code: price for code, _, _, price in PRODUCTS}
    ids: dict[str, int] = {}
    for demo in (*CUSTOMERS, *CALLERS):
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
        birthday = f"1988-{today:%m-%d}" if demo.phone == BORN_TODAY else demo.birthday
        if birthday is not None:
            record = await repo.get(session, customer_id, details=False)
            kept = dict(record.attributes) if record is not None else {}
            await repo.update_fields(session, customer_id, attributes={**kept, "birthday": birthday})
        for code in demo.products:
            await repo.set_holding(session, customer_id, product_ids[code], date(2024, 1, 1), prices[code])
        # Linked to the bot once (a chat id, as `/start` with a shared phone links it).
        if (
            demo.telegram is not None
            and await repo.find_id_by_identity(session, "telegram", demo.telegram) is None
        ):
            await repo.add_identity(session, customer_id, Identity("telegram", demo.telegram))
        ids[demo.phone] = customer_id
    await session.commit()
    return ids


async def _free_agents(session: AsyncSession, agents: list[UserRecord], now: datetime) -> None:
    """Hang up the test calls an earlier run left ringing, then make every agent available:
    the test call the command line prints must find one."""
    bus = InProcessBus()  # nobody listens while the demo loads
    for agent in agents:
        for call_id in await contact_log.open_calls_for_agent(session, agent.id):
            await calls.ended(session, bus, call_id, cause="demo reset", now=now)
        await presence.set_agent_state(session, agent.id, "available", now)
    await session.commit()


async def _complaints(
    session: AsyncSession, policy: ComplaintPolicy, agent: UserRecord, supervisor: UserRecord
) -> None:
    """The demo complaints, lodged and moved on through the use cases (once: a customer who
    has a complaint already keeps what they have). Closing and reopening are a supervisor's."""
    for demo in COMPLAINTS:
        customer_id = await repo.find_id_by_identity(session, "phone", normalise_phone(demo.phone))
        if customer_id is None or await complaints_repo.search(session, customer_id=customer_id, limit=1):
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
        moved_at = lodged_at
        for step, state in enumerate(demo.moves, start=1):
            moved_at = lodged_at + timedelta(hours=4 * step)
            await lifecycle.transition(
                session,
                supervisor if state in ("closed", "reopened") else agent,
                complaint.id,
                state,
                resolution=demo.resolution if state == "resolved" else None,
                now=moved_at,
                policy=policy,
            )
        if demo.answer is not None:
            for survey in await surveys_repo.search(session, customer_id=customer_id):
                if survey.complaint_id == complaint.id and survey.answered_at is None:
                    await surveys.answer(session, survey.id, demo.answer, now=moved_at + timedelta(hours=2))
