"""The `contactdesk` command as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


def contactdesk(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONTACTDESK_DATABASE_URL": database_url, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "callcenter.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_demo_prints_passwords_and_loading_twice_duplicates_nothing(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    first = contactdesk("demo", database_url=sqlite_url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    for login in ("agent1", "agent2", "supervisor", "admin"):
        assert login in first.stdout
    # Without a CTI token there is no test call to print, only how to get one.
    assert "curl" not in first.stdout
    assert "CONTACTDESK_CTI_TOKEN" in first.stdout
    monkeypatch.setenv("CONTACTDESK_CTI_TOKEN", "demo-cti-token")
    second = contactdesk("demo", "--url", "http://127.0.0.1:8099", database_url=sqlite_url, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    # The test call (tests/test_demo.py rings it), to the port the console is served on.
    ring = next(line for line in second.stdout.splitlines() if "newCall" in line)
    assert ring.startswith("curl -s -X POST http://127.0.0.1:8099/telephony/cti")
    assert "Bearer demo-cti-token" in ring
    assert "sign in as agent1" in second.stdout

    db = sqlite3.connect(tmp_path / "cli.db")
    tiers = dict(db.execute("SELECT tier, count(*) FROM customers GROUP BY tier").fetchall())
    blacklisted = db.execute("SELECT count(*) FROM customers WHERE blacklisted").fetchone()[0]
    users = db.execute("SELECT count(*) FROM users").fetchone()[0]
    complaints = dict(db.execute("SELECT state, count(*) FROM complaints GROUP BY state").fetchall())
    db.close()
    # A workbench with something on it: complaints in every state of their lifecycle, once.
    assert complaints == {
        "received": 1,
        "acknowledged": 1,
        "investigating": 2,
        "resolved": 1,
        "reopened": 1,
        "closed": 1,
    }
    assert set(tiers) == {"vip", "preferred", "regular"}
    assert sum(tiers.values()) == 51
    assert blacklisted == 1
    assert users == 4


def test_token_prints_a_token_that_opens_the_api(sqlite_url: str, tmp_path: Path) -> None:
    assert contactdesk("demo", database_url=sqlite_url, cwd=tmp_path).returncode == 0
    result = contactdesk("token", "supervisor", database_url=sqlite_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert len(token) >= 32

    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from callcenter.app import create_app
    from callcenter.settings import Settings

    async def lookup() -> dict[str, object]:
        app = create_app(Settings(database_url=sqlite_url))
        async with TestClient(TestServer(app)) as client:
            response = await client.get(
                "/api/v1/customers",
                params={"phone": "13800000001"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status == 200
            return dict(await response.json())

    found = asyncio.run(lookup())
    assert found["customers"][0]["name"] == "王芳"  # type: ignore[index]


def test_token_for_an_unknown_user_says_so(sqlite_url: str, tmp_path: Path) -> None:
    assert contactdesk("db", "upgrade", database_url=sqlite_url, cwd=tmp_path).returncode == 0
    result = contactdesk("token", "nobody", database_url=sqlite_url, cwd=tmp_path)
    assert result.returncode == 1
    assert "no user 'nobody'" in result.stderr


def test_the_short_commands_load_no_web_app_bot_or_telephony_library() -> None:
    """`token`, `demo`, `db upgrade` and `import` start fast because the command line imports
    the web application, aiogram, Twilio and rasa-sdk only inside the commands that serve."""
    probe = (
        "import sys, callcenter.cli, callcenter.cli_import\n"
        "heavy = {'aiogram', 'twilio', 'rasa_sdk', 'aiohttp', 'bot'}\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in heavy or m == 'callcenter.app']\n"
        "print(' '.join(sorted(loaded)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(  # noqa: S603 - our own interpreter with a fixed program
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.split() == []
