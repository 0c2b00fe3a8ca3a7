"""The tier worker (`contactdesk worker`, `serve`): approved downgrades take effect on their
day, and the review runs once per period. Safe with any number of workers: downgrades are
claimed with SKIP LOCKED and a review is claimed once (storage.tier_review.claim)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.tiers.decisions import apply_due
from handlers.tiers.policy import TierPolicy
from handlers.tiers.review import ReviewOutcome, is_due, run_review
from storage import tier_review as repo
from storage.audit import SYSTEM
from storage.models.base import utcnow

log = logging.getLogger(__name__)


async def pass_once(
    sessions: async_sessionmaker[AsyncSession], policy: TierPolicy, now: datetime
) -> ReviewOutcome | None:
    async with sessions() as session:
        await apply_due(session, now)
        last = await repo.latest(session)
        await session.rollback()
        if not is_due(last, now, policy):
            return None
        return await run_review(session, SYSTEM, policy, now, follows=last.id if last else 0)


async def run_worker(
    sessions: async_sessionmaker[AsyncSession],
    policy: TierPolicy,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    while True:
        try:
            await pass_once(sessions, policy, clock())
        except asyncio.CancelledError:
            raise
        except Exception:  # the worker outlives a bad moment; the next pass retries
            log.exception("tier pass failed")
        await sleep(policy.interval_seconds)
