"""The supervisor's list of campaigns: every one that may still move, then the latest ended
ones a page at a time (a year of campaigns is not read, nor counted, on every view)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.campaigns.progress import progress_of
from storage.campaigns import definitions as repo
from storage.campaigns.views import CampaignView

ENDED_PER_PAGE = 20


@dataclass(frozen=True)
class Overview:
    rows: list[tuple[CampaignView, dict[str, Any]]]  # each campaign with its `progress`
    older: int | None  # `before` for the next page of ended campaigns; None when none is left


async def overview(
    session: AsyncSession, before: int | None = None, per_page: int = ENDED_PER_PAGE
) -> Overview:
    """Without `before`: the campaigns that may still move and the latest ended ones. With it:
    the ended campaigns older than that id only."""
    moving = [] if before is not None else await repo.list_moving(session)
    ended = await repo.list_final(session, before=before, limit=per_page + 1)
    older = ended[per_page - 1].id if len(ended) > per_page else None
    shown = [*moving, *ended[:per_page]]
    found = await progress_of(session, shown)
    return Overview([(c, found[c.id]) for c in shown], older)
