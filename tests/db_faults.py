"""Databases that fail as real ones do: a relay to PostgreSQL that stops relaying (a server
that hangs mid-conversation), a port where something accepts and never answers, and a
write lock held by someone else."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url


class FreezableRelay:
    """A TCP relay to a PostgreSQL server. Once frozen it accepts and reads but passes
    nothing on, in either direction: open connections and new ones both hang."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._frozen = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    def freeze(self) -> None:
        self._frozen.set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        for writer in self._writers:
            writer.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                if self._frozen.is_set():
                    await asyncio.Event().wait()
                writer.write(data)
                await writer.drain()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        if self._frozen.is_set():
            return  # hold the connection open, say nothing
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        self._writers.append(upstream_writer)
        self._spawn(self._pipe(reader, upstream_writer))
        self._spawn(self._pipe(upstream_reader, writer))


@asynccontextmanager
async def relay_to(database_url: str) -> AsyncIterator[tuple[FreezableRelay, str]]:
    """A relay to the PostgreSQL server of `database_url`, and the URL that goes through it."""
    url = make_url(database_url)
    relay = FreezableRelay(url.host or "127.0.0.1", url.port or 5432)
    await relay.start()
    try:
        yield relay, url.set(port=relay.port).render_as_string(hide_password=False)
    finally:
        await relay.close()


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A port that accepts connections and never answers: a server hung before the handshake."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in held:
            writer.close()


@asynccontextmanager
async def write_lock(database_url: str, table: str) -> AsyncIterator[None]:
    """Someone else's transaction holding `table` (PostgreSQL: ACCESS EXCLUSIVE, so reads
    wait too) or the whole database (SQLite: its one write lock)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with _sqlite_write_lock(str(url.database)):
            yield
        return
    connection = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        transaction = connection.transaction()
        await transaction.start()
        await connection.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        yield
        await transaction.rollback()
    finally:
        await connection.close()


@contextlib.contextmanager
def _sqlite_write_lock(path: str) -> Iterator[None]:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()
