"""Behind a real PgBouncer in transaction pooling (Debian's, 1.18: before prepared statements
were supported there), with CONTACTDESK_DATABASE_PREPARED_STATEMENTS=false and the event bus
connected straight to PostgreSQL, as docs/scale.md tells operators: calls are routed at once
by the compiled statement, the screen pop arrives, the API reads. Started here from its
binary; the machine's own PostgreSQL behind it."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.calls import ROUTING
from callcenter.settings import Settings
from tests.conftest import REQUIRE_POSTGRES, Staff
from tests.console_client import CTI, CTI_TOKEN
from tests.routing_fixtures import Callers, seed

pytestmark = pytest.mark.postgres

Client = TestClient[web.Request, web.Application]


@pytest.fixture
def database_url(postgres_database: str) -> str:
    return postgres_database


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def pgbouncer(postgres_database: str) -> Iterator[str]:
    """A PgBouncer in transaction pooling in front of the test database: its URL."""
    binary = shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(p)), None
    )
    if binary is None:
        message = "pgbouncer is not installed (.ci/run installs Debian's)"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    target = make_url(postgres_database)
    port = free_port()
    # pgbouncer refuses to run as root: it drops to postgres below, who must read its files
    # (pytest's own temporary directories are the owner's alone)
    tmp_path = Path(tempfile.mkdtemp(prefix="contactdesk-pgbouncer-"))
    tmp_path.chmod(0o777)
    (tmp_path / "users.txt").write_text(f'"{target.username}" ""\n')
    (tmp_path / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={target.host} port={target.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\n"
        f"auth_type = trust\nauth_file = {tmp_path / 'users.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 4\nmax_client_conn = 200\n"
        # what the application sends at connect; docs/scale.md says to set them on the role
        "ignore_startup_parameters = extra_float_digits,jit,statement_timeout,synchronous_commit\n"
        "unix_socket_dir =\n"
        f"logfile = {tmp_path / 'pgbouncer.log'}\n"
    )
    command = [binary, str(tmp_path / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None:
                said = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"pgbouncer exited: {said}")
            time.sleep(0.05)
        yield target.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
        shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.fixture
async def console(settings: Settings, pgbouncer: str, postgres_database: str) -> AsyncIterator[Client]:
    behind = settings.model_copy(
        update={
            "database_url": pgbouncer,
            "events_database_url": postgres_database,
            "database_prepared_statements": False,
            "cti_token": CTI_TOKEN,
        }
    )
    async with TestClient(TestServer(create_app(behind))) as client:
        yield client


@pytest.fixture
async def callers(sessions: async_sessionmaker[AsyncSession], staff: Staff) -> Callers:
    return await seed(sessions)


async def test_behind_pgbouncer_calls_are_routed_popped_and_read(
    console: Client, callers: Callers, staff: Staff, postgres_database: str
) -> None:
    assert console.app is not None
    assert console.app[ROUTING].compiled is not None  # the one-statement path, through PgBouncer

    async def call(n: int) -> Any:
        caller = "13800000001" if n == 0 else f"1390000{n:04d}"
        response = await console.post(
            "/telephony/cti",
            json={"event": "newCall", "call_id": f"bouncer-{n}", "from": caller},
            headers=CTI,
        )
        return response.status, await response.json()

    async with console.ws_connect("/agent/ws", headers=staff.agent) as socket_:
        answers = await asyncio.gather(*(call(n) for n in range(40)))
        async with asyncio.timeout(10):  # a hang guard
            while (message := await socket_.receive_json()).get("type") != "screen_pop":
                pass
    assert [status for status, _ in answers] == [200] * 40
    assert [body["reason"] for _, body in answers if body["reason"].startswith("fallback")] == []
    assert answers[0][1]["agent"] == "agent1"
    assert message["call_id"] == "bouncer-0"
    card = await console.get(f"/api/v1/customers/{callers.vip}", headers=staff.agent)
    assert card.status == 200
    assert (await card.json())["name"] == "vip"
    connection = await asyncpg.connect(
        make_url(postgres_database).set(drivername="postgresql").render_as_string(False)
    )
    try:
        logged = await connection.fetchval("SELECT count(*) FROM contacts WHERE external_id LIKE 'bouncer-%'")
    finally:
        await connection.close()
    assert logged == 40
