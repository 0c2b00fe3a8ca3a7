"""On PostgreSQL a call's card comes from one statement (storage/cards.py); it must be the
card the ORM path gives, and leave the same audit entry, for random customers and
histories: tier, blacklist, identities, holdings (and so the offer and its peers), open and
closed complaints (with an approval waiting), contacts (the call itself among them, ties
in time), answered and unanswered surveys. Who may open a call stays the same: an agent
only the calls offered to them, a supervisor any."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from handlers import screen_pop
from handlers.errors import Forbidden, NotFound, SignedOut
from storage import user_sessions
from storage.db import create_engine, create_sessionmaker
from storage.models import (
    ApiToken,
    AuditEntry,
    Complaint,
    Contact,
    Customer,
    CustomerIdentity,
    Holding,
    Product,
    Survey,
    User,
    UserSession,
)
from storage.models.base import utcnow
from storage.sign_in_checks import Credential
from storage.users import UserRecord, by_token_hash, get_by_login
from tests.conftest import empty_tables

pytestmark = pytest.mark.postgres

PRODUCTS = ("broadband-100", "broadband-1000", "mobile-basic", "mobile-unlimited", "iptv", "cloud-200", "sim")
STATES = ("received", "acknowledged", "investigating", "resolved", "closed", "reopened")
CUSTOMERS = 60


@pytest.fixture
async def engine(postgres_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(postgres_database)
    await empty_tables(engine)
    yield engine
    await engine.dispose()


async def _fill(sessions: async_sessionmaker[AsyncSession], seed: int) -> list[tuple[int | None, str, str]]:
    """Random customers and histories; returns each test call: (customer, call id, agent login)."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    now = utcnow()
    calls: list[tuple[int | None, str, str]] = []
    async with sessions() as session:
        agents = [
            User(login=f"agent{i}", name=f"Agent {i}", password_hash="x", role="agent") for i in range(3)
        ]
        session.add_all(agents)
        products = [Product(code=code, name=f"产品 {code}") for code in PRODUCTS]
        session.add_all(products)
        await session.flush()
        for n in range(CUSTOMERS):
            created = now - timedelta(days=rng.randint(0, 800), seconds=rng.randint(0, 86400))
            customer = Customer(
                name=rng.choice(("王芳", "Li Wei", "O'Brien", '张 "伟"')) + f" {n}",
                tier=rng.choice(("vip", "preferred", "regular")),
                blacklisted=rng.random() < 0.15,
                blacklist_reason=rng.choice((None, "fraud")),
                language=rng.choice((None, "zh", "en")),
                region=rng.choice((None, "Guangzhou", "佛山")),
                timezone=rng.choice((None, "Asia/Shanghai")),
                marketing_opt_out=rng.random() < 0.2,
                attributes=rng.choice(({}, {"segment": "smb", "score": 0.1, "n": 3, "tags": ["a", 1.5]})),
                created_at=created,
                updated_at=created + timedelta(microseconds=rng.randint(0, 10**6)),
            )
            session.add(customer)
            await session.flush()
            for k in range(rng.randint(0, 3)):
                kind = rng.choice(("phone", "email", "telegram"))
                session.add(CustomerIdentity(customer_id=customer.id, kind=kind, value=f"{kind}-{n}-{k}"))
            day = date(2024, 1, 1) + timedelta(days=rng.randint(0, 30))
            for product in rng.sample(products, rng.randint(0, 4)):
                session.add(
                    Holding(
                        customer_id=customer.id,
                        product_id=product.id,
                        # ties in `since`: the card orders them by id
                        since=day if rng.random() < 0.5 else day + timedelta(days=rng.randint(1, 400)),
                        monthly_spend=Decimal(rng.randint(0, 99999)) / 100,
                    )
                )
            for k in range(rng.choice((0, 0, 1, 2, 4))):
                state = rng.choice(STATES)
                waiting = rng.random() < 0.3
                session.add(
                    Complaint(
                        ticket=f"T{n}-{k}",
                        customer_id=customer.id,
                        category=rng.choice(("billing", "network")),
                        severity=rng.choice(("standard", "urgent")),
                        state=state,
                        description=rng.choice(("", "断网三天", "line\nbreak")),
                        channel=rng.choice(("phone", "telegram")),
                        created_at=now - timedelta(hours=rng.randint(0, 2000)),
                        acknowledge_due_at=rng.choice((None, now + timedelta(hours=5))),
                        resolve_due_at=rng.choice((None, now - timedelta(days=1))),
                        reopen_count=rng.randint(0, 2),
                        compensation_amount=rng.choice((None, Decimal("10.50"), Decimal("0.00"))),
                        attachments=rng.choice(([], [{"ref": "a1"}, {"ref": "b2"}])),
                        approval_requested_at=now if waiting else None,
                        approval_amount=Decimal("20.00") if waiting else None,
                        approval_requested_by="agent1" if waiting else None,
                    )
                )
            await session.flush()
            stamp = now - timedelta(days=rng.randint(0, 30))
            for k in range(rng.randint(0, 10)):
                agent = rng.choice((None, *agents))
                session.add(
                    Contact(
                        channel=rng.choice(("phone", "telegram")),
                        direction=rng.choice(("in", "out")),
                        external_id=f"past-{n}-{k}",
                        customer_id=customer.id,
                        from_number="+8613800000000",
                        to_number="+862000000000",
                        queue=rng.choice((None, "general", "vip")),
                        priority=rng.randint(0, 50),
                        agent_id=agent.id if agent else None,
                        action="route",
                        reason="a rule",
                        # ties in time: the card orders them by id
                        created_at=stamp if rng.random() < 0.6 else stamp - timedelta(hours=k),
                        answered_at=rng.choice((None, stamp)),
                        duration_seconds=rng.choice((None, 42)),
                        disposition=rng.choice((None, "resolved")),
                        skills=rng.choice(([], ["general", "vip"])),
                        ivr_digits=rng.choice((None, "1")),
                    )
                )
            for k in range(rng.randint(0, 7)):
                answered = rng.random() < 0.7
                session.add(
                    Survey(
                        customer_id=customer.id,
                        kind=rng.choice(("csat", "nps")),
                        trigger=rng.choice(("call", "complaint")),
                        channel="telegram",
                        created_at=now - timedelta(days=k),
                        expires_at=now + timedelta(days=3),
                        answered_at=now - timedelta(days=k) if answered else None,
                        score=rng.randint(1, 5) if answered else None,
                        comment=rng.choice((None, "好")),
                    )
                )
            known = rng.random() < 0.9
            offered = rng.choice(agents)
            call_id = f"call-{n}"
            session.add(
                Contact(
                    channel="phone",
                    direction="in",
                    external_id=call_id,
                    customer_id=customer.id if known else None,
                    from_number="+8613800000001",
                    to_number="+862000000000",
                    queue="general",
                    priority=20,
                    agent_id=offered.id,
                    action="route",
                    reason="first-contact",
                    created_at=stamp,
                    skills=["general"],
                )
            )
            calls.append((customer.id if known else None, call_id, offered.login))
        session.add(User(login="boss", name="Boss", password_hash="x", role="supervisor"))
        await session.commit()
    return calls


async def _card(
    sessions: async_sessionmaker[AsyncSession],
    user: UserRecord,
    call_id: str,
    *,
    orm: bool,
    replay: bool,
    credential: Credential | None = None,
) -> tuple[Any, list[tuple[Any, ...]]]:
    """The card (or the refusal) and the audit entries it left."""
    async with sessions() as session:
        last = select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)
        before = (await session.execute(last)).scalar()
        await session.commit()
    async with sessions() as session:
        if orm:
            # a transaction already begun keeps the ORM path
            await session.execute(select(1))
        assert screen_pop._one_statement(session) is not orm
        try:
            found: Any = await screen_pop.for_call(
                session, user, call_id, via="ws", replay=replay, credential=credential
            )
        except (Forbidden, NotFound, SignedOut) as refused:
            found = (type(refused), str(refused))
    async with sessions() as session:
        entries = (
            await session.execute(
                select(
                    AuditEntry.actor_id,
                    AuditEntry.actor,
                    AuditEntry.via,
                    AuditEntry.customer_id,
                    AuditEntry.action,
                    AuditEntry.subject_type,
                    AuditEntry.subject_id,
                    AuditEntry.details,
                ).where(AuditEntry.id > (before or 0))
            )
        ).all()
    return found, [tuple(e) for e in entries]


@pytest.mark.parametrize("seed", [1, 2])
async def test_the_one_statement_card_is_the_orm_card(engine: AsyncEngine, seed: int) -> None:
    sessions = create_sessionmaker(engine)
    calls = await _fill(sessions, seed)
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    async with sessions() as session:
        logins = ("agent0", "agent1", "agent2", "boss")
        users = {login: await get_by_login(session, login) for login in logins}
    offers_seen = peers_seen = complaints_seen = 0
    for customer_id, call_id, offered in calls:
        # the agent it was offered to, another agent (refused), a supervisor; now and then a
        # call nobody logged
        for login in (offered, rng.choice(("agent0", "agent1", "agent2")), "boss"):
            user = users[login]
            assert user is not None
            asked = call_id if rng.random() < 0.95 else "no-such-call"
            replay = rng.random() < 0.3
            orm = await _card(sessions, user, asked, orm=True, replay=replay)
            fast = await _card(sessions, user, asked, orm=False, replay=replay)
            assert fast == orm, (customer_id, call_id, login)
            if isinstance(fast[0], screen_pop.ScreenPop):
                offers_seen += fast[0].offer is not None
                peers_seen += bool(fast[0].offer and fast[0].offer.peers)
                complaints_seen += bool(fast[0].open_complaints)
    # the draw covered what the card shows
    assert offers_seen
    assert peers_seen
    assert complaints_seen


MAX_AGE = timedelta(hours=12)


async def _credentials(sessions: async_sessionmaker[AsyncSession]) -> tuple[list[str], list[str]]:
    """Tokens and console sessions of every kind (digests): agent0's and agent1's standing,
    agent0's ended, past the longest a session may live, or just inside it, agent2's (whom
    this disables) standing."""
    now = utcnow()
    async with sessions() as session:
        ids = {u.login: u.id for u in (await session.execute(select(User))).scalars()}
        for login in ("agent0", "agent1", "agent2"):
            session.add(ApiToken(user_id=ids[login], token_hash=f"token-{login}"))
            session.add(
                UserSession(id=f"session-{login}", user_id=ids[login], created_at=now, last_seen_at=now)
            )
        old = now - MAX_AGE - timedelta(seconds=1)
        young = now - MAX_AGE + timedelta(minutes=5)
        for name, created, ended in (("ended", now, now), ("old", old, None), ("young", young, None)):
            session.add(
                UserSession(
                    id=f"session-{name}",
                    user_id=ids["agent0"],
                    created_at=created,
                    last_seen_at=created,
                    ended_at=ended,
                )
            )
        (await session.get(User, ids["agent2"])).active = False  # type: ignore[union-attr]
        await session.commit()
    tokens = ["token-agent0", "token-agent1", "token-agent2", "token-nobody's"]
    return tokens, [
        "session-agent0",
        "session-agent1",
        "session-agent2",
        "session-ended",
        "session-old",
        "session-young",
    ]


async def _stands_as_requests_see_it(
    sessions: async_sessionmaker[AsyncSession], credential: Credential
) -> bool:
    """callcenter/auth.py's `still_signed_in`, through the ORM queries a request makes."""
    async with sessions() as session:
        now_user = (
            None if credential.token_hash is None else await by_token_hash(session, credential.token_hash)
        )
        if now_user is None and credential.session_hash is not None:
            live = await user_sessions.live(
                session, credential.session_hash, created_after=utcnow() - MAX_AGE
            )
            now_user = None if live is None else live.user
    return now_user is not None and now_user.id == credential.user_id


async def test_the_one_statement_checks_the_sign_in_as_a_request_does(engine: AsyncEngine) -> None:
    """Every credential, standing or not, on both paths: the same card or SignedOut, the same
    audit entries (none when signed out), and signed out exactly when a request would be."""
    sessions = create_sessionmaker(engine)
    calls = await _fill(sessions, 3)
    tokens, console_sessions = await _credentials(sessions)
    async with sessions() as session:
        users = [await get_by_login(session, f"agent{i}") for i in range(3)]
    signed_out = signed_in = 0
    for user in users:
        assert user is not None
        call_id = next(call for _, call, offered in calls if offered == user.login)
        for token in (None, *tokens):
            for console_session in (None, *console_sessions):
                credential = Credential(user.id, token, console_session, MAX_AGE)
                orm = await _card(sessions, user, call_id, orm=True, replay=False, credential=credential)
                fast = await _card(sessions, user, call_id, orm=False, replay=False, credential=credential)
                assert fast == orm, (user.login, token, console_session)
                stands = await _stands_as_requests_see_it(sessions, credential)
                assert (fast[0] != (SignedOut, "signed out")) is stands, (user.login, token, console_session)
                assert bool(fast[1]) is stands  # audited only when it stands (each call has a customer here)
                signed_in += stands
                signed_out += not stands
    assert signed_in
    assert signed_out
