"""With the database down, hung or locked, the API says so at once (503 JSON) and every
call still gets its route within the routing budget.

The issue asks for latency checks here; the margins are generous (the machine is shared)
but far below what the old code took: 60 s hangs for the API, twice the budget for calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import Settings
from tests.conftest import Staff
from tests.db_faults import relay_to, silent_server, write_lock
from tests.routing_fixtures import Callers, seed

Client = TestClient[web.Request, web.Application]
CTI = {"Authorization": "Bearer cti"}
BUDGET = 1.0
# Not a speed check (bench/routing.py measures that): a hang guard. A platform gives up on a
# webhook after 5-15 s; a call that waited for the hung database would hold until the
# database's own 60 s, so thirty calls must all have answered long before this.
HANG = 30.0
TIMEOUTS = {
    "cti_token": "cti",
    "routing_budget_seconds": BUDGET,
    "database_statement_timeout_seconds": 1.0,
    "database_connect_timeout_seconds": 1.0,
}


def faulty(settings: Settings, **update: Any) -> Settings:
    return settings.model_copy(update={**TIMEOUTS, **update})


@pytest.fixture
async def callers(sessions: async_sessionmaker[AsyncSession], staff: Staff) -> Callers:
    return await seed(sessions)


async def answered(request: Any) -> tuple[int, dict[str, Any]]:
    response = await request
    return response.status, await response.json()


async def in_time(request: Any) -> tuple[int, dict[str, Any]]:
    return await asyncio.wait_for(answered(request), HANG)


async def thirty_calls(client: Client, prefix: str) -> list[tuple[int, dict[str, Any]]]:
    calls = (
        answered(
            client.post(
                "/telephony/cti",
                json={"event": "newCall", "call_id": f"{prefix}{i}", "from": "13800000001"},
                headers=CTI,
            )
        )
        for i in range(30)
    )
    return await asyncio.wait_for(asyncio.gather(*calls), HANG)


def assert_all_fell_back_in_time(answers: list[tuple[int, dict[str, Any]]]) -> None:
    """Every caller got the default queue, and the reason says routing's budget answered for
    the database (a call that had waited for it would name no fallback)."""
    for status, body in answers:
        assert status == 200
        assert (body["action"], body["queue"]) == ("route", "general")
        assert body["reason"].startswith("fallback")


async def test_with_a_table_locked_the_api_answers_503_instead_of_waiting(
    settings: Settings, database_url: str, staff: Staff, callers: Callers
) -> None:
    async with TestClient(TestServer(create_app(faulty(settings)))) as client:
        async with write_lock(database_url, "customers"):
            # A write: on SQLite readers do not wait for a writer, on PostgreSQL everyone waits.
            status, body = await in_time(
                client.post("/api/v1/customers", json={"name": "x", "phones": []}, headers=staff.agent)
            )
        assert status == 503, body
        assert body["error"] == "database-unavailable"
        after = await client.post("/api/v1/customers", json={"name": "y", "phones": []}, headers=staff.agent)
        assert after.status == 201  # the pool recovered once the lock went


async def test_with_a_table_locked_every_one_of_thirty_calls_is_routed_within_the_budget(
    settings: Settings, database_url: str, callers: Callers
) -> None:
    async with TestClient(TestServer(create_app(faulty(settings)))) as client:
        async with write_lock(database_url, "contacts"):
            answers = await thirty_calls(client, "locked")
        assert_all_fell_back_in_time(answers)


async def test_with_the_server_hung_mid_conversation_every_call_is_routed_within_the_budget(
    settings: Settings, database_url: str, callers: Callers, staff: Staff
) -> None:
    if settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite has no server to hang")
    async with relay_to(database_url) as (relay, url):
        app = create_app(faulty(settings, database_url=url))
        async with TestClient(TestServer(app)) as client:
            warm = await thirty_calls(client, "warm")  # the pool's connections are open
            assert all(status == 200 for status, _ in warm)
            relay.freeze()
            for wave in range(2):
                assert_all_fell_back_in_time(await thirty_calls(client, f"hung{wave}-"))
            status, body = await in_time(client.get("/api/v1/customers/1", headers=staff.agent))
            assert (status, body["error"]) == (503, "database-unavailable")


@pytest.fixture
async def silent_database_url() -> AsyncIterator[str]:
    async with silent_server() as port:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/contactdesk"


async def test_with_a_server_that_never_answers_calls_are_routed_and_the_api_says_503(
    silent_database_url: str,
) -> None:
    settings = Settings(database_url=silent_database_url, **TIMEOUTS)  # type: ignore[arg-type]
    async with TestClient(TestServer(create_app(settings))) as client:
        assert_all_fell_back_in_time(await thirty_calls(client, "silent"))
        status, body = await in_time(
            client.get("/api/v1/customers/1", headers={"Authorization": "Bearer any"})
        )
    assert (status, body["error"]) == (503, "database-unavailable")


async def test_with_the_database_down_the_api_answers_503_json_at_once() -> None:
    closed_port = "postgresql+asyncpg://postgres@127.0.0.1:1/contactdesk"
    settings = Settings(database_url=closed_port, **TIMEOUTS)  # type: ignore[arg-type]
    async with TestClient(TestServer(create_app(settings))) as client:
        status, body = await in_time(
            client.get("/api/v1/complaints", headers={"Authorization": "Bearer any"})
        )
        hangup = await client.post("/telephony/cti", json={"event": "hangup", "call_id": "x"}, headers=CTI)
    assert (status, body["error"]) == (503, "database-unavailable")
    assert hangup.status == 503


@pytest.mark.postgres
@pytest.mark.parametrize(
    "conflict",
    [
        # Two REPEATABLE READ transactions change one row: the second must start again (40001,
        # the state a hot standby gives a report cancelled by replay, "conflict with recovery").
        "serialization",
        # Two transactions lock two rows in opposite orders: one is rolled back (40P01).
        "deadlock",
    ],
)
async def test_a_transaction_the_database_rolled_back_for_a_retry_is_a_503(
    postgres_database: str, conflict: str
) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from storage.db import create_engine, unavailable

    engine = create_engine(postgres_database)
    try:
        async with engine.begin() as setup:
            await setup.execute(text("CREATE TABLE IF NOT EXISTS fault_rows (id int PRIMARY KEY, n int)"))
            await setup.execute(text("DELETE FROM fault_rows"))
            await setup.execute(text("INSERT INTO fault_rows VALUES (1, 0), (2, 0)"))
        async with engine.connect() as first, engine.connect() as second:
            if conflict == "serialization":
                await first.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
                await first.execute(text("SELECT n FROM fault_rows WHERE id = 1"))
                await second.execute(text("UPDATE fault_rows SET n = 1 WHERE id = 1"))
                await second.commit()
                with pytest.raises(DBAPIError) as raised:
                    await first.execute(text("UPDATE fault_rows SET n = 2 WHERE id = 1"))
                failure: BaseException = raised.value
            else:
                await first.execute(text("UPDATE fault_rows SET n = 1 WHERE id = 1"))
                await second.execute(text("UPDATE fault_rows SET n = 1 WHERE id = 2"))
                crossing = asyncio.ensure_future(
                    second.execute(text("UPDATE fault_rows SET n = 2 WHERE id = 1"))
                )
                await asyncio.sleep(0.2)  # the second waits for the first's row
                outcomes = await asyncio.gather(
                    first.execute(text("UPDATE fault_rows SET n = 2 WHERE id = 2")),
                    crossing,
                    return_exceptions=True,
                )
                (failure,) = [o for o in outcomes if isinstance(o, BaseException)]
        assert unavailable(failure)
        async with engine.begin() as cleanup:
            await cleanup.execute(text("DROP TABLE fault_rows"))
    finally:
        await engine.dispose()
