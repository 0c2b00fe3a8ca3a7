"""Shared bench helpers: a scratch PostgreSQL database, the machine, percentiles, load."""

from __future__ import annotations

import asyncio
import os
import platform
import secrets
import statistics
import time
from collections.abc import Callable
from typing import Any

import asyncpg

ADMIN_DSN = os.environ.get("CONTACTDESK_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.node()}: {os.cpu_count()} cores, {model}, Python {platform.python_version()}"


async def create_database() -> tuple[str, str]:
    name = f"contactdesk_bench_{os.getpid()}_{secrets.token_hex(2)}"
    connection = await asyncpg.connect(ADMIN_DSN)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    base = ADMIN_DSN.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


async def drop_database(name: str) -> None:
    connection = await asyncpg.connect(ADMIN_DSN)
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await connection.close()


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(latencies: list[float], seconds: float) -> dict[str, float]:
    return {
        "requests": len(latencies),
        "rps": len(latencies) / seconds if seconds else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
    }


def drive(
    url: str,
    make_request: Callable[[int], tuple[dict[str, str], Any, str | None]],
    concurrency: int,
    duration: float,
    max_requests: int,
    out: Any,
) -> None:
    """Run in a separate process: POST as fast as `concurrency` connections allow, bounded by
    time and count, to a server on loopback; put (latencies, elapsed, errors) on `out`."""
    import aiohttp

    async def main() -> None:
        latencies: list[float] = []
        errors = 0
        counter = iter(range(max_requests))
        deadline = time.perf_counter() + duration
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def worker() -> None:
                nonlocal errors
                for n in counter:
                    if time.perf_counter() > deadline:
                        return
                    headers, body, content_type = make_request(n)
                    started = time.perf_counter()
                    kwargs: dict[str, Any] = {"headers": headers}
                    if content_type == "json":
                        kwargs["json"] = body
                    else:
                        kwargs["data"] = body
                    async with session.post(url, **kwargs) as response:
                        await response.read()
                        if response.status != 200:
                            errors += 1
                    latencies.append(time.perf_counter() - started)

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        out.put((latencies, elapsed, errors))

    asyncio.run(main())


async def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")
