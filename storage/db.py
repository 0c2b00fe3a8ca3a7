"""The async engine and session factory, built from a URL by the composition root."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# The SQLAlchemy pool's size when nobody says (serving processes take
# CONTACTDESK_DATABASE_POOL_SIZE): docs/scale.md counts the connections it adds up to.
DEFAULT_POOL_SIZE = 20


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


# asyncpg's and SQLAlchemy's statement caches off, and the statements SQLAlchemy still
# prepares within a transaction named uniquely: another client's transaction may have left a
# statement of the same number on the server connection PgBouncer hands us.
UNPREPARED: dict[str, Any] = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": lambda: f"__asyncpg_{uuid4().hex}__",
}


def normalise_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://) and pick our async drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def create_engine(
    url: str,
    *,
    statement_timeout: float | None = None,
    connect_timeout: float | None = None,
    prepared_statements: bool = True,
    **kwargs: Any,
) -> AsyncEngine:
    """The engine for `url`. With `statement_timeout` a statement that runs longer is
    cancelled (SQLite has no such thing: its busy timeout bounds the wait for a lock instead);
    with `connect_timeout` nobody waits longer for a connection, new or from the pool. The
    web application sets both, so a hung database is an error to report, not a hang; the
    command line (migrations, imports) sets neither. Without `prepared_statements` (behind
    PgBouncer before 1.21 in transaction pooling) no statement outlives its transaction."""
    url = normalise_url(url)
    if is_sqlite(url):
        kwargs.pop("pool_size", None)  # SQLite keeps SQLAlchemy's own pool (one file, one writer)
        engine = create_async_engine(url, connect_args={"timeout": statement_timeout or 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL lets the console read while a worker writes; SQLite leaves
            # foreign keys off unless asked, per connection.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    # A pool as large as the statements one process runs at once, and no overflow: an
    # overflow connection is closed as soon as it is handed back, so a burst beyond the pool
    # opened (and forked) a new backend every few calls (10 + 20 did so every ~18 calls at 64
    # in flight). Past the pool a request waits its turn, up to the connect timeout.
    kwargs.setdefault("pool_size", DEFAULT_POOL_SIZE)
    kwargs.setdefault("max_overflow", 0)
    # No pre-ping: it costs a round trip on every checkout of the routing hot path; stale
    # connections are recycled instead, and a failed statement surfaces as an error.
    kwargs.setdefault("pool_recycle", 1800)
    connect_args: dict[str, Any] = kwargs.pop("connect_args", {})
    if not prepared_statements:
        connect_args.update(UNPREPARED)
    # No JIT: our statements are short, and a day's worth of calls on the dashboard passed its
    # cost threshold and spent 57 ms compiling a query that runs in less (bench/dashboard.py).
    connect_args.setdefault("server_settings", {}).setdefault("jit", "off")
    if connect_timeout is not None:
        connect_args.setdefault("timeout", connect_timeout)
        kwargs.setdefault("pool_timeout", connect_timeout)
    if statement_timeout is not None:
        # Sent once per connection, so it costs no round trip per request. The server
        # cancels a statement that runs too long, waits for a lock included; the client
        # gives up a little later in case the server itself no longer answers.
        settings = connect_args.setdefault("server_settings", {})
        settings.setdefault("statement_timeout", str(max(1, round(statement_timeout * 1000))))
        connect_args.setdefault("command_timeout", statement_timeout + 1)
    return create_async_engine(url, connect_args=connect_args, **kwargs)


# SQLSTATE classes that mean "the database cannot serve now", not "the request is wrong":
# connection exceptions, insufficient resources (too many connections), operator
# intervention (57014 is a statement timeout, 57P01 an admin shutdown), a lock not granted,
# and a transaction the server rolled back for a retry to pass: a serialization failure
# (40001, also what a hot standby raises when replaying the primary cancels a report's
# statement: "conflict with recovery") or a deadlock (40P01).
_UNAVAILABLE_CLASSES = ("08", "53", "57")
_UNAVAILABLE_STATES = ("55P03", "40001", "40P01")


def _sqlstate(error: BaseException) -> str:
    orig = error.orig if isinstance(error, DBAPIError) else error
    return str(getattr(orig, "sqlstate", None) or "")


def unavailable(error: BaseException) -> bool:
    """True when `error` says the database is down, unreachable, overloaded or too slow."""
    if isinstance(error, TimeoutError | OSError | PoolTimeout | OperationalError | InterfaceError):
        return True
    if isinstance(error, asyncpg.InterfaceError):  # a connection closed under us
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    state = _sqlstate(error)
    return state.startswith(_UNAVAILABLE_CLASSES) or state in _UNAVAILABLE_STATES


def unstorable(error: BaseException) -> bool:
    """True when the database refused a value (SQLSTATE class 22, data exception: text too
    long, NUL in text, a number out of range): the request was wrong, not the server."""
    return isinstance(error, DBAPIError) and _sqlstate(error).startswith("22")


def dialect_insert(session: AsyncSession) -> Any:
    """The INSERT of the session's dialect, for ON CONFLICT DO NOTHING: both SQLite and
    PostgreSQL have it, under the same name, in different modules."""
    if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        return postgresql_insert
    return sqlite_insert


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
