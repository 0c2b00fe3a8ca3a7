"""Schemathesis, the independent OpenAPI fuzzer, against the app as an operator runs it.

A fresh PostgreSQL database gets `contactdesk db upgrade` and `contactdesk demo`, and a
supervisor's API token from `contactdesk token`. `contactdesk serve --no-worker` then runs as
a subprocess with every webhook's secret set and the Telegram bot talking to a local Bot API
stand-in, so each door is locked as in production. Schemathesis's own command line (`st run`,
from the same Python) reads `/api/v1/openapi.json` and runs its phases (examples, coverage,
fuzzing, stateful) against every operation. tests/schemathesis_hooks.py gives each operation
the credentials its security scheme names (and signs Twilio's webhooks as Twilio would).

Why the CLI in a subprocess rather than `schemathesis.pytest.from_fixture`: the server must be
a real `contactdesk serve` process, and the CLI runs the coverage and stateful phases and the
probes of `ignored_auth` and `unsupported_method` exactly as a CI job of another team would,
with each failure reported with a curl command to reproduce it.

Checks: no 5xx; every status, content type and JSON body as the document says; a request
without (or with wrong) credentials refused; an undeclared method answered 405 with `Allow`.
Examples per operation are bounded so the run takes well under three minutes; a timeout stops
one that does not. The seed is printed; set CONTACTDESK_FUZZ_SEED to replay a run.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import unused_port

from tests.conftest import REPO_ROOT, create_postgres_database, drop_postgres_database
from tests.telegram_standin import bot_api
from tests.test_cli import contactdesk

pytestmark = pytest.mark.postgres

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "ignored_auth",
    "unsupported_method",
)
EXAMPLES_PER_OPERATION = 40
FUZZER_TIMEOUT = 170  # seconds

SECRETS = {
    "CONTACTDESK_CTI_TOKEN": "fuzz-cti-" + secrets.token_hex(8),
    "CONTACTDESK_TWILIO_AUTH_TOKEN": "fuzz-twilio-" + secrets.token_hex(8),
    "CONTACTDESK_TELEGRAM_WEBHOOK_SECRET": "fuzz-telegram-" + secrets.token_hex(8),
    "CONTACTDESK_RASA_TOKEN": "fuzz-rasa-" + secrets.token_hex(8),
}


def run(database_url: str, *args: str) -> str:
    """`contactdesk ARGS` on this database; its output."""
    done = contactdesk(*args, database_url=database_url, cwd=REPO_ROOT)
    assert done.returncode == 0, f"contactdesk {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def demo_database(postgres_server: str) -> Iterator[str]:
    """A database of its own: the fuzzer writes whatever it likes into it."""
    url = create_postgres_database(postgres_server)
    try:
        run(url, "db", "upgrade")
        run(url, "demo")
        yield url
    finally:
        drop_postgres_database(postgres_server, url)


async def wait_for_health(base_url: str, server: asyncio.subprocess.Process, within: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + within
    async with aiohttp.ClientSession() as http:
        while True:
            if server.returncode is not None:
                raise AssertionError(f"contactdesk serve exited with {server.returncode}")
            try:
                async with http.get(f"{base_url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("contactdesk serve did not become healthy")
            await asyncio.sleep(0.2)


async def run_fuzzer(base_url: str, env: dict[str, str], seed: int, cwd: Path) -> tuple[int | None, str]:
    fuzzer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{base_url}/api/v1/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        str(seed),
        "--request-timeout",
        "10",
        "--generation-database",
        "none",
        "--no-color",
        cwd=cwd,
        env={**env, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(fuzzer.communicate(), FUZZER_TIMEOUT)
    except TimeoutError:
        fuzzer.kill()
        output, _ = await fuzzer.communicate()
        return None, output.decode(errors="replace")
    return fuzzer.returncode, output.decode(errors="replace")


async def test_the_api_answers_as_its_openapi_document_says_under_fuzzing(
    demo_database: str, tmp_path: Path
) -> None:
    seed = int(os.environ.get("CONTACTDESK_FUZZ_SEED") or secrets.randbits(64))
    print(f"schemathesis seed: {seed} (CONTACTDESK_FUZZ_SEED={seed} replays this run)")
    supervisor_token = run(demo_database, "token", "supervisor").strip()
    server_log = tmp_path / "serve.log"
    port = unused_port()
    base_url = f"http://127.0.0.1:{port}"

    async with bot_api() as telegram:
        env = {
            **os.environ,
            **SECRETS,
            "CONTACTDESK_DATABASE_URL": demo_database,
            "CONTACTDESK_PUBLIC_URL": base_url,
            "CONTACTDESK_BOT_TOKEN": "123456:FUZZ",
            "CONTACTDESK_TELEGRAM_API_BASE": telegram.base_url,
            "PYTHONPATH": str(REPO_ROOT),
            "FUZZ_API_TOKEN": supervisor_token,  # for the fuzzer, not the server
        }
        with server_log.open("wb") as log:
            server = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "callcenter.cli",
                "serve",
                "--no-worker",
                "--port",
                str(port),
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
            try:
                await wait_for_health(base_url, server)
                started = asyncio.get_running_loop().time()
                code, output = await run_fuzzer(base_url, env, seed, tmp_path)
                took = asyncio.get_running_loop().time() - started
            finally:
                if server.returncode is None:
                    server.terminate()
                await server.wait()

    print(f"schemathesis took {took:.0f} s")
    report = f"{output}\nThe server's errors:\n{server_errors(server_log)}"
    assert code is not None, f"schemathesis ran over {FUZZER_TIMEOUT} s (seed {seed}):\n{report}"
    assert code == 0, f"schemathesis found problems (seed {seed}):\n{report}"


def server_errors(log: Path, most: int = 300) -> str:
    """The tracebacks behind the 500s: ERROR lines and the lines under them."""
    lines, keep = [], False
    for line in log.read_text(errors="replace").splitlines():
        if line[:4].isdigit():  # a new log record
            keep = " ERROR " in line
        if keep:
            lines.append(line)
    return "\n".join(lines[-most:])
