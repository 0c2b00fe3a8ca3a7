"""The PostgreSQL event bus sends what is published at once in one transaction
(storage/events_postgres.py): every event still reaches the other instances, in the order it
was published, and a publisher hears when its event could not be sent."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from storage.events import Event
from storage.events_postgres import PostgresBus

pytestmark = pytest.mark.postgres


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def heard(events: object, count: int) -> list[Event]:
    got: list[Event] = []
    async with asyncio.timeout(10):  # a hang guard, far above a batch's time
        async for event in events:  # type: ignore[attr-defined]
            got.append(event)
            if len(got) == count:
                return got
    return got


async def test_events_published_at_once_reach_another_instance_all_in_order(postgres_database: str) -> None:
    publisher, listener = PostgresBus(dsn(postgres_database)), PostgresBus(dsn(postgres_database))
    sent = [{"type": "call_offered", "call_id": f"call-{n}", "agent": f"agent{n % 7}"} for n in range(300)]
    try:
        async with listener.subscribe("calls") as events:
            await asyncio.gather(*(publisher.publish("calls", event) for event in sent))
            await publisher.publish("calls", {"type": "ping"})  # one more after the burst
            got = await heard(events, len(sent) + 1)
    finally:
        await publisher.close()
        await listener.close()
    assert got == [*sent, {"type": "ping"}]


async def test_the_publishers_transactions_do_not_wait_for_the_disk(postgres_database: str) -> None:
    """A notification does not outlive a crash of the server: its commit need not wait."""
    bus = PostgresBus(dsn(postgres_database))
    try:
        await bus.publish("calls", {"type": "ping"})
        publisher = await bus._publisher()
        assert await publisher.fetchval("SHOW synchronous_commit") == "off"
    finally:
        await bus.close()


async def test_a_publisher_hears_that_its_event_could_not_be_sent() -> None:
    bus = PostgresBus("postgresql://postgres@127.0.0.1:9/nowhere", timeout=2)
    try:
        for _ in range(2):  # and the next publish tries again rather than hanging
            with pytest.raises((OSError, asyncpg.PostgresError, TimeoutError)):
                await bus.publish("calls", {"type": "ping"})
    finally:
        await bus.close()


async def test_a_group_of_events_reaches_each_channel_in_its_order(postgres_database: str) -> None:
    publisher, listener = PostgresBus(dsn(postgres_database)), PostgresBus(dsn(postgres_database))
    group = [
        ("calls", {"type": "call_offered", "call_id": "g1", "agent": "li"}),
        ("supervisor", {"type": "agent_state", "agent": "li", "state": "busy"}),
        ("supervisor", {"type": "queues_changed"}),
    ]
    try:
        async with listener.subscribe("calls") as calls, listener.subscribe("supervisor") as floor:
            await publisher.publish_all(group)
            got = (await heard(calls, 1), await heard(floor, 2))
    finally:
        await publisher.close()
        await listener.close()
    assert got == ([group[0][1]], [group[1][1], group[2][1]])
