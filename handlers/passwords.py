"""Password hashing off the event loop, on a small pool of its own.

Argon2 is meant to be slow (tens to hundreds of milliseconds of CPU and 64 MiB each);
run on the loop, a handful of wrong sign-ins stalled call routing for seconds. The pool
is small and private so a sign-in flood queues behind itself instead of taking every
core, or the default executor other work (DNS lookups) relies on."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return str(_hasher.hash(password))


def _matches(stored: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def _yield_to_calls() -> None:
    # On Linux niceness is per thread and inherited by the lanes argon2 starts: under a
    # sign-in flood the hashing gets the CPU left over by routing (and a local database).
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class Passwords:
    """Checks passwords on a private thread pool; unknown logins cost as much as known ones."""

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="passwords", initializer=_yield_to_calls
        )
        # Verified against when the login is unknown or disabled, so the answer takes as long
        # as for a real account and does not tell which logins exist. Hashed with the current
        # parameters, first thing on the pool, without holding up the start.
        self._dummy_hash: Future[str] = self._pool.submit(hash_password, secrets.token_urlsafe(16))

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether the password matches the stored hash; with no hash, a full check that fails."""
        target = await asyncio.wrap_future(self._dummy_hash) if stored is None else stored
        matched = await asyncio.get_running_loop().run_in_executor(self._pool, _matches, target, password)
        return matched and stored is not None

    def close(self) -> None:
        # Not waiting: a hash in progress finishes on its thread, nobody reads it.
        self._pool.shutdown(wait=False, cancel_futures=True)
