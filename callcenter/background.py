"""Stopping background tasks for good at shutdown.

Workers stop between passes: each rests with `Stop.sleep`, which ends the worker once
shutdown has begun. A pass in progress finishes, so no statement is left running on a
connection whose task is gone (on SQLite, such a statement's thread outlived the event loop
and died holding the database's lock). Only a worker that does not come to rest within the
grace is cancelled, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Collection, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Stopping(BaseException):
    """Raised by `Stop.sleep` once shutdown has begun. A BaseException, so that the workers'
    `except Exception` (which keeps a loop alive through a bad pass) lets it through."""


class Stop:
    """Shutdown as the workers see it: a rest between passes, cut short when it begins."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    async def sleep(self, seconds: float) -> None:
        if not self._event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), seconds)
        if self._event.is_set():
            raise Stopping


async def run_until_stopped(run: Callable[[], Coroutine[Any, Any, None]]) -> None:
    with contextlib.suppress(Stopping):
        await run()


async def stop_workers(tasks: Collection[asyncio.Task[None]], stop: Stop, *, grace: float = 10.0) -> None:
    """Tell the workers to stop, let each finish its pass, and cancel those still busy
    after `grace` seconds."""
    stop.set()
    pending = [task for task in tasks if not task.done()]
    if pending:
        _, late = await asyncio.wait(pending, timeout=grace)
        if late:
            log.warning(
                "workers still in a pass %ss into shutdown: %s", grace, sorted(t.get_name() for t in late)
            )
    await stop_tasks(tasks)


async def stop_tasks(tasks: Collection[asyncio.Task[None]], *, grace: float = 10.0) -> None:
    """Cancel the tasks and wait until each has finished, cancelling again while any runs.

    One cancel is not always enough on Python 3.11: asyncio.wait_for (SQLAlchemy's pool
    checkout uses it) returns the result instead of raising when the cancel lands in the
    same loop pass as the result, and a worker loop then carries on forever. Shutdown would
    wait on it forever; instead the cancel is repeated, and after `grace` seconds a task
    that still runs is named in the log and left behind."""
    pending = {task for task in tasks if not task.done()}
    deadline = asyncio.get_running_loop().time() + grace
    while pending:
        for task in pending:
            task.cancel()
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            log.error("tasks still running at shutdown: %s", sorted(t.get_name() for t in pending))
            return
        _, pending = await asyncio.wait(pending, timeout=min(0.5, left))
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("%s ended with an error", task.get_name(), exc_info=task.exception())


async def let_closing_sqlite_connections_finish(*, grace: float = 6.0) -> None:
    """Wait, a bounded time, for SQLite connections whose task was cancelled mid-query.

    aiosqlite runs each connection's statements on a thread of its own. A worker cancelled
    while its statement waits on SQLite's lock (5 s by default) leaves that thread running;
    were the event loop to close first, the thread would die handing back the result, before
    it closes the connection, and the connection would hold the database's lock until it is
    garbage-collected ("database is locked" for whoever comes next). Such a thread has been
    told to stop (`_running` false); the others belong to connections still in use."""
    closing = [
        thread
        for thread in threading.enumerate()
        if type(thread).__module__.startswith("aiosqlite") and not getattr(thread, "_running", True)
    ]
    if closing:
        deadline = asyncio.get_running_loop().time() + grace
        for thread in closing:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            await asyncio.to_thread(thread.join, left)
