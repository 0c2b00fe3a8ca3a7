"""Fixtures: every database test runs on SQLite and on PostgreSQL, each test on empty tables.

PostgreSQL comes from CONTACTDESK_TEST_POSTGRES_URL (default: the local server's `test`
database). Each test session creates a database of its own next to it, so parallel runs
never share rows. Locally an unreachable server skips those tests; under CI (CI=true) it
fails the run instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import Settings
from handlers.accounts import issue_token, save_user
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_sync
from storage.models import Base

# The console's pages are read in English by the tests unless a test chooses Chinese (the
# operator's default, zh, is checked in tests/test_console_language.py).
os.environ.setdefault("CONTACTDESK_CONSOLE_LANGUAGE", "en")

POSTGRES_ADMIN_URL = os.environ.get(
    "CONTACTDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
log = logging.getLogger(__name__)
REQUIRE_POSTGRES = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrated schema, once per run; each test gets a copy (`sqlite_copy`)."""
    path = tmp_path_factory.mktemp("db") / "migrated.db"
    upgrade_sync(f"sqlite+aiosqlite:///{path}")
    return path


def sqlite_copy(template: Path, directory: Path) -> str:
    path = directory / "contactdesk.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def sqlite_database(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database file of this test's own. On one shared file, a connection an earlier test
    left behind (its task cancelled mid-statement at shutdown, its thread outliving the event
    loop) held the file's lock, and the next tests failed with "database is locked" at their
    first DELETE: a failure of the earlier test's shutdown, reported as someone else's."""
    return sqlite_copy(sqlite_template, tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of a reachable PostgreSQL server, or a skip (a failure under CI)."""

    async def probe() -> None:
        connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_ADMIN_URL), timeout=5)
        await connection.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        message = f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}: {error}"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    return POSTGRES_ADMIN_URL


def create_postgres_database(admin_url: str) -> str:
    name = f"contactdesk_test_{os.getpid()}_{secrets.token_hex(3)}"

    async def create() -> None:
        connection = await asyncpg.connect(_asyncpg_dsn(admin_url))
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(admin_url: str, url: str) -> None:
    name = make_url(url).database

    async def drop() -> None:
        connection = await asyncpg.connect(_asyncpg_dsn(admin_url))
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(drop())


@pytest.fixture(scope="session")
def postgres_database(postgres_server: str) -> Iterator[str]:
    url = create_postgres_database(postgres_server)
    upgrade_sync(url)
    yield url
    drop_postgres_database(postgres_server, url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated database URL, once per backend."""
    url: str = request.getfixturevalue(f"{request.param}_database")
    return url


async def empty_tables(engine: AsyncEngine) -> None:
    tables = [t.name for t in Base.metadata.sorted_tables]
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await end_leftover_sessions(connection)
            # A lock nobody releases must fail this test, not hang the run until CI's limit.
            await connection.execute(text("SET LOCAL lock_timeout = '30s'"))
            names = ", ".join(f'"{t}"' for t in tables)
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                await connection.execute(text(f'DELETE FROM "{table}"'))


async def end_leftover_sessions(connection: AsyncConnection) -> None:
    """Tests in one run take turns on the run's database, so a session still connected when a
    test starts was left by an earlier test (a task its event loop dropped, say) and may hold
    locks that TRUNCATE would wait for forever. Name it in the log and end it."""
    leftovers = (
        await connection.execute(
            text(
                "SELECT pg_terminate_backend(pid), pid, state, left(query, 120) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    ).all()
    for _, pid, state, query in leftovers:
        log.warning("ended a session an earlier test left: pid %s, %s, %r", pid, state, query)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await empty_tables(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


@pytest.fixture
def settings(database_url: str, engine: AsyncEngine) -> Settings:
    # Depending on `engine` empties the tables before the app sees them. The routing budget
    # is generous: these tests read where a call goes, and a busy CI machine once took longer
    # than the default 2 s on a cold pool; the budget's own tests set theirs
    # (test_database_faults.py, test_routing_cti.py) and bench/routing.py measures the speed.
    return Settings(database_url=database_url, default_region="CN", routing_budget_seconds=30.0)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


@dataclass(frozen=True)
class Staff:
    """Bearer headers for one user of each role."""

    agent: dict[str, str]
    agent2: dict[str, str]
    supervisor: dict[str, str]
    admin: dict[str, str]


@pytest.fixture
async def staff(sessions: async_sessionmaker[AsyncSession]) -> Staff:
    headers: dict[str, dict[str, str]] = {}
    async with sessions() as session:
        for login, role, languages in (
            ("agent1", "agent", ("zh", "en")),
            ("agent2", "agent", ("zh",)),
            ("supervisor", "supervisor", ("zh", "en")),
            ("admin", "admin", ("zh", "en")),
        ):
            await save_user(session, login, "pw-" + login, role=role, languages=languages)
            headers[login] = {"Authorization": f"Bearer {await issue_token(session, login)}"}
    return Staff(headers["agent1"], headers["agent2"], headers["supervisor"], headers["admin"])


REPO_ROOT = Path(__file__).resolve().parent.parent
