"""The SQLAlchemy pool on PostgreSQL is sized by CONTACTDESK_DATABASE_POOL_SIZE and has no
overflow: a burst of requests larger than the pool waits its turn on the connections it
has, instead of opening (and closing again) a new backend every few requests."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, text

from callcenter.bootstrap import Bootstrap
from callcenter.settings import Settings

pytestmark = pytest.mark.postgres


async def test_64_requests_at_once_share_the_pool_and_open_no_more_backends(postgres_database: str) -> None:
    settings = Settings(database_url=postgres_database, database_pool_size=8)
    opened = 0
    async with Bootstrap(settings).database() as db:

        @event.listens_for(db.engine.sync_engine, "connect")
        def _count(_connection: Any, _record: Any) -> None:
            nonlocal opened
            opened += 1

        async def request() -> int:
            async with db.sessions() as session:
                return int((await session.execute(text("SELECT 1 FROM pg_sleep(0.005)"))).scalar_one())

        answers = []
        for _round in range(3):
            answers += await asyncio.gather(*(request() for _ in range(64)))
    assert answers == [1] * 192  # every request served: the burst waited, nobody was refused
    assert opened <= 8  # never more backends than the pool holds, and none reopened


async def test_the_event_bus_connects_where_it_is_told_past_a_transaction_pooler(
    postgres_database: str, postgres_server: str
) -> None:
    """Behind PgBouncer's transaction pooling LISTEN cannot work, so the bus takes a URL of its
    own (CONTACTDESK_EVENTS_DATABASE_URL): here another database, to see which one it used."""
    from sqlalchemy.engine import make_url

    from storage.events_postgres import PostgresBus

    settings = Settings(database_url=postgres_database, events_database_url=postgres_server)
    async with Bootstrap(settings).database() as db:
        assert isinstance(db.events, PostgresBus)
        async with db.events.subscribe("calls") as events:
            await db.events.publish("calls", {"type": "ping", "from": "test_db_pool"})
            async with asyncio.timeout(10):  # that database is shared: skip others' events
                async for event in events:
                    if event == {"type": "ping", "from": "test_db_pool"}:
                        break
            listener = db.events._listener
            assert listener is not None
            assert await listener.fetchval("SELECT current_database()") == make_url(postgres_server).database
