"""The rules compiled into one PostgreSQL statement (storage/routing/hot_path.py) decide as
the Python engine does, claim an agent once per call however often the call is delivered,
and do not route a call without an agent merely because every agent row was locked."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from handlers.routing.compiled import compiled_rules, route_compiled
from handlers.routing.route import caller_language, caller_number
from handlers.routing.rules import InboundCall, Rule, Rules, choose
from storage.db import create_engine, create_sessionmaker
from storage.routing import callers
from storage.routing.hot_path import CompiledRouting
from storage.routing.queues import QueueView
from tests.conftest import empty_tables

pytestmark = pytest.mark.postgres

QUEUES = {
    "general": QueueView("general", None, None, (), "Asia/Shanghai", None),
    "vip": QueueView("vip", "08:00", "22:00", (0, 1, 2, 3, 4), "Asia/Shanghai", "general"),
    "late": QueueView("late", "22:00", "06:00", (0, 1, 2, 3, 4, 5, 6), "Asia/Shanghai", None),
}
SKILLS = ("general", "vip", "billing")
PHONE = "+8613800000001"


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def subset(values: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), unique=True, max_size=len(values))


conditions = st.fixed_dictionaries(
    {},
    optional={
        "known": st.booleans(),
        "blacklisted": st.booleans(),
        "tier": subset(("vip", "preferred", "regular")),
        "open_complaint": st.booleans(),
        "contacted_within_days": st.integers(0, 10),
        "language": subset(("zh", "en")),
        "region": subset(("Guangzhou", "Foshan")),
        "ivr": subset(("1", "2")),
        "dialled": subset(("+862000000000", "+862000000001")),
        "hours": st.sampled_from(("08:00-18:00", "22:00-06:00", "00:00-23:59")),
        "days": st.lists(st.integers(0, 6), unique=True, max_size=7),
    },
)
rules_files = st.lists(
    st.builds(
        Rule,
        name=st.text("abcxyz-'", min_size=1, max_size=8),
        when=conditions,
        action=st.sampled_from(("route", "route", "reject")),
        queue=st.sampled_from((*QUEUES, "nowhere")),
        priority=st.integers(0, 100),
        skills=st.lists(st.sampled_from(SKILLS), unique=True, max_size=2).map(tuple),
        agent_language=st.booleans(),
        ivr=st.booleans(),
    ),
    min_size=1,
    max_size=6,
).map(lambda rules: Rules(tuple(rules), timezone="Asia/Shanghai"))
customers = st.none() | st.fixed_dictionaries(
    {
        "tier": st.sampled_from(("vip", "preferred", "regular")),
        "blacklisted": st.booleans(),
        "language": st.sampled_from(("zh", "en", None, "")),
        "region": st.sampled_from(("Guangzhou", "Foshan", None)),
        "open_complaint": st.booleans(),
        "last_contact_hours_ago": st.none() | st.integers(0, 300),
    }
)
calls = st.builds(
    dict,
    caller=st.sampled_from((PHONE, "13800000001", "+14155550100", "anonymous", None)),
    dialled=st.sampled_from(("+862000000000", "+862000000001", None)),
    ivr_digits=st.sampled_from((None, "1", "2", "9")),
    queue=st.sampled_from((None, "vip", "late", "unknown")),
    now=st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31)).map(  # noqa: DTZ001
        lambda d: d.replace(tzinfo=UTC)
    ),
)


async def seed_caller(connection: asyncpg.Connection, customer: dict[str, Any] | None, now: datetime) -> None:
    await connection.execute(
        "TRUNCATE contacts, complaints, customer_identities, customers, agent_states, users "
        "RESTART IDENTITY CASCADE"
    )
    user_id = await connection.fetchval(
        "INSERT INTO users (login, name, password_hash, role, skills, languages, active, created_at) "
        "VALUES ('agent', '', 'x', 'agent', $1, '[\"zh\", \"en\"]', true, now()) RETURNING id",
        json.dumps(SKILLS),
    )
    await connection.execute(
        "INSERT INTO agent_states (user_id, state, since, capacity, active_contacts) "
        "VALUES ($1, 'available', now(), 1000, 0)",
        user_id,
    )
    if customer is None:
        return
    await connection.execute(
        "INSERT INTO customers (id, name, tier, blacklisted, language, region, timezone, attributes, "
        "marketing_opt_out, created_at, updated_at) VALUES (1, 'caller', $1, $2, $3, $4, 'Asia/Shanghai', "
        "'{}', false, now(), now())",
        customer["tier"],
        customer["blacklisted"],
        customer["language"],
        customer["region"],
    )
    await connection.execute(
        "INSERT INTO customer_identities (customer_id, kind, value, created_at) "
        "VALUES (1, 'phone', $1, now())",
        PHONE,
    )
    if customer["open_complaint"]:
        await connection.execute(
            "INSERT INTO complaints (ticket, customer_id, channel, category, severity, state, description, "
            "attachments, reopen_count, created_at, updated_at) VALUES ('T1', 1, 'phone', 'billing', "
            "'standard', 'received', 'x', '[]', 0, now(), now())"
        )
    if customer["last_contact_hours_ago"] is not None:
        await connection.execute(
            "INSERT INTO contacts (channel, direction, external_id, customer_id, created_at, action, "
            "reason, priority, skills, fallback, extra) "
            "VALUES ('phone', 'in', 'before', 1, $1, 'route', 'x', 0, '[]', false, '{}')",
            now - timedelta(hours=customer["last_contact_hours_ago"]),
        )


@pytest.fixture
async def database(postgres_database: str) -> str:
    engine = create_engine(postgres_database)
    await empty_tables(engine)
    await engine.dispose()
    return postgres_database


async def compare(url: str, rules: Rules, customer: dict[str, Any] | None, drawn: dict[str, Any]) -> None:
    now = drawn.pop("now")
    call = InboundCall(call_id="c1", **drawn)
    connection = await asyncpg.connect(dsn(url))
    try:
        await seed_caller(connection, customer, now)
    finally:
        await connection.close()
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            caller = caller_number(call, "CN")
            facts = await callers.caller_facts(session, "phone", caller) if caller else None
    finally:
        await engine.dispose()
    rule, queue = choose(rules, facts, call, QUEUES, now)
    action = rule.action if rule.action == "reject" else ("route" if queue else "callback")
    language = caller_language(facts is not None, facts.language if facts else None, caller, "CN")
    claims = action == "route" and not (rule.ivr and call.ivr_digits is None)
    compiled = CompiledRouting(dsn(url), compiled_rules(rules), pool_size=1, statement_timeout=5)
    try:
        decision = await route_compiled(compiled, call, rules, QUEUES, region="CN", now=now)
    finally:
        await compiled.close()
    assert decision is not None
    expected = (rule.name, action, queue, rule.priority, rule.skills, language, facts and facts.customer_id)
    got = (
        decision.reason,
        decision.action,
        decision.queue,
        decision.priority,
        decision.skills,
        decision.language,
        decision.customer_id,
    )
    assert got == expected
    assert (decision.agent is not None) == (claims and (not rule.agent_language or language in ("zh", "en")))
    assert decision.tier == (facts.tier if facts else None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rules=rules_files, customer=customers, drawn=calls)
def test_the_compiled_rules_decide_as_the_python_engine(
    database: str, rules: Rules, customer: dict[str, Any] | None, drawn: dict[str, Any]
) -> None:
    asyncio.run(compare(database, rules, customer, drawn))


async def agents(url: str, count: int, capacity: int) -> None:
    connection = await asyncpg.connect(dsn(url))
    try:
        for i in range(count):
            user_id = await connection.fetchval(
                "INSERT INTO users (login, name, password_hash, role, skills, languages, active, created_at) "
                "VALUES ($1, '', 'x', 'agent', '[\"general\"]', '[\"zh\"]', true, now()) RETURNING id",
                f"agent{i}",
            )
            await connection.execute(
                "INSERT INTO agent_states (user_id, state, since, capacity, active_contacts) "
                "VALUES ($1, 'available', now() - make_interval(secs => $2), $3, 0)",
                user_id,
                float(i),
                capacity,
            )
    finally:
        await connection.close()


async def claims(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(dsn(url))
    try:
        rows = await connection.fetch(
            "SELECT u.login, a.active_contacts FROM agent_states a JOIN users u ON u.id = a.user_id"
        )
    finally:
        await connection.close()
    return {r["login"]: r["active_contacts"] for r in rows if r["active_contacts"]}


ONE_RULE = Rules((Rule(name="all", when={}, queue="general", skills=("general",)),))


async def test_a_call_delivered_again_meanwhile_claims_one_agent_once(database: str) -> None:
    await agents(database, 3, 1)
    compiled = CompiledRouting(dsn(database), compiled_rules(ONE_RULE), pool_size=8, statement_timeout=5)
    now = datetime.now(UTC)
    try:
        answers = await asyncio.gather(
            *(
                route_compiled(
                    compiled, InboundCall("same", "+14155550100"), ONE_RULE, QUEUES, region="CN", now=now
                )
                for _ in range(8)
            )
        )
    finally:
        await compiled.close()
    routed = [a for a in answers if a is not None]
    assert len(routed) == 1  # the others were told the call is logged already: nothing claimed
    assert routed[0].agent == "agent2"  # the longest idle
    assert await claims(database) == {"agent2": 1}


async def test_a_repeated_webhook_gets_the_same_answer_and_no_second_agent(database: str) -> None:
    from handlers.routing.budget import CallRouting, decide
    from storage.events import InProcessBus

    await agents(database, 2, 1)
    engine = create_engine(database)
    routing = CallRouting(rules=ONE_RULE, budget=30)
    routing.compiled = CompiledRouting(
        dsn(database), compiled_rules(ONE_RULE), pool_size=2, statement_timeout=5
    )
    events = InProcessBus()
    call = InboundCall("again", "+8613800000009")
    try:
        first = await decide(create_sessionmaker(engine), events, routing, call, region="CN")
        second = await decide(create_sessionmaker(engine), events, routing, call, region="CN")
    finally:
        await routing.compiled.close()
        await engine.dispose()
        await events.close()
    assert (first.repeat, second.repeat) == (False, True)
    assert (second.action, second.queue, second.reason, second.agent) == ("route", "general", "all", "agent1")
    assert first.agent == "agent1"
    assert await claims(database) == {"agent1": 1}


async def test_64_calls_on_a_fresh_instance_open_no_more_connections_than_its_pool(database: str) -> None:
    """The first calls find neither the queues read nor the routing connections open: one of
    them reads and opens, the others wait for it (they used to open a pool and read the
    queues each, 64 backends forked and closed again at every start)."""
    from handlers.routing.budget import CallRouting, decide
    from storage.events import InProcessBus

    await agents(database, 20, 1000)
    connection = await asyncpg.connect(dsn(database))
    sessions_so_far = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
    engine = create_engine(database)
    routing = CallRouting(rules=ONE_RULE, budget=30)
    routing.compiled = CompiledRouting(
        dsn(database), compiled_rules(ONE_RULE), pool_size=4, statement_timeout=5
    )
    events = InProcessBus()
    try:
        before = await connection.fetchval(sessions_so_far)
        decisions = await asyncio.gather(
            *(
                decide(
                    create_sessionmaker(engine),
                    events,
                    routing,
                    InboundCall(f"start-{n}", PHONE),
                    region="CN",
                )
                for n in range(64)
            )
        )
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        opened = await connection.fetchval(sessions_so_far) - before
    finally:
        await routing.compiled.close()
        await engine.dispose()
        await events.close()
        await connection.close()
    assert [d.fallback for d in decisions] == [False] * 64
    assert all(d.agent for d in decisions)
    assert opened <= 4


@pytest.mark.parametrize("capacity", [1, 1000])
async def test_64_calls_at_once_with_20_agents_get_an_agent_whenever_one_is_free(
    database: str, capacity: int
) -> None:
    """SKIP LOCKED alone passes over every agent another call is claiming this instant: with
    64 calls against 20 rows, some found them all locked and went without an agent."""
    await agents(database, 20, capacity)
    compiled = CompiledRouting(dsn(database), compiled_rules(ONE_RULE), pool_size=64, statement_timeout=30)
    now = datetime.now(UTC)
    try:
        for round_ in range(3):
            answers = await asyncio.gather(
                *(
                    route_compiled(
                        compiled,
                        InboundCall(f"r{round_}-{n}", "+14155550100"),
                        ONE_RULE,
                        QUEUES,
                        region="CN",
                        now=now,
                    )
                    for n in range(64)
                )
            )
            assert all(a is not None for a in answers)
    finally:
        await compiled.close()
    held = await claims(database)
    if capacity == 1:  # every agent taken once, none twice
        assert held == {f"agent{i}": 1 for i in range(20)}
    else:  # nobody went without an agent
        assert sum(held.values()) == 3 * 64


async def test_routing_may_commit_without_waiting_for_the_disk(database: str) -> None:
    """CONTACTDESK_ROUTING_SYNCHRONOUS_COMMIT=false: the routing connections alone commit
    without waiting for the WAL to reach the disk, and a call is routed and logged as before."""
    await agents(database, 1, 1)
    compiled = CompiledRouting(
        dsn(database), compiled_rules(ONE_RULE), pool_size=1, statement_timeout=5, synchronous_commit=False
    )
    try:
        call = InboundCall("lazy", "+14155550100")
        decision = await route_compiled(compiled, call, ONE_RULE, QUEUES, region="CN", now=datetime.now(UTC))
        pool = await compiled._connections()
        assert await pool.fetchval("SHOW synchronous_commit") == "off"
    finally:
        await compiled.close()
    assert decision is not None
    assert decision.agent == "agent0"
    assert await claims(database) == {"agent0": 1}
    connection = await asyncpg.connect(dsn(database))
    try:  # the application's other connections keep the server's setting
        assert await connection.fetchval("SHOW synchronous_commit") == "on"
        assert await connection.fetchval("SELECT count(*) FROM contacts WHERE external_id = 'lazy'") == 1
    finally:
        await connection.close()
