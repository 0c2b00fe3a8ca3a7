"""Shutdown lets a worker finish the pass it is in, and ends a resting worker at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.bootstrap import Worker, running
from storage.models import User

Sleep = Callable[[float], Awaitable[None]]


async def test_a_pass_under_way_when_the_server_stops_is_finished_not_cut(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    in_pass, go_on = asyncio.Event(), asyncio.Event()
    passes: list[str] = []
    cancelled: list[bool] = []

    async def writer(sleep: Sleep) -> None:
        while True:
            try:
                async with sessions() as session:
                    login = f"pass-{len(passes) + 1}"
                    session.add(User(login=login, password_hash="-", role="agent"))
                    await session.flush()
                    in_pass.set()
                    await go_on.wait()  # the write transaction is open here
                    await session.commit()
                    passes.append(login)
            except asyncio.CancelledError:
                cancelled.append(True)
                raise
            await sleep(3600)

    workers = running([Worker("writer", writer)])
    await workers.__aenter__()
    await in_pass.wait()
    stopping = asyncio.create_task(workers.__aexit__(None, None, None))
    await asyncio.sleep(0)  # shutdown has begun: the stop is set (or, before, the cancel sent)
    go_on.set()
    await stopping

    assert passes == ["pass-1"]
    assert cancelled == []
    async with sessions() as session:
        logins = (await session.scalars(select(User.login))).all()
    assert logins == ["pass-1"]


async def test_a_resting_worker_ends_when_the_server_stops_without_being_cancelled() -> None:
    rests: list[float] = []
    cancelled: list[bool] = []
    resting = asyncio.Event()

    async def rester(sleep: Sleep) -> None:
        try:
            while True:
                rests.append(3600)
                resting.set()
                await sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async with running([Worker("rester", rester)]):
        await resting.wait()
    # Had the hour's rest not been cut short, the block above would not have ended.
    assert rests == [3600]
    assert cancelled == []
