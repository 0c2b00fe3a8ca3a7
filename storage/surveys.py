"""Survey repository."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models.surveys import Survey


@dataclass(frozen=True)
class NewSurvey:
    """The columns of a survey not yet answered, named as the table names them."""

    customer_id: int
    kind: str
    trigger: str
    channel: str
    created_at: datetime
    expires_at: datetime
    complaint_id: int | None = None
    contact_id: int | None = None
    agent_id: int | None = None
    campaign_id: int | None = None
    questionnaire_id: int | None = None


@dataclass(frozen=True)
class SurveyView:
    id: int
    customer_id: int
    kind: str
    trigger: str
    channel: str
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    score: int | None
    comment: str | None
    complaint_id: int | None
    contact_id: int | None
    agent_id: int | None
    campaign_id: int | None
    questionnaire_id: int | None = None


def _view(row: Survey) -> SurveyView:
    return SurveyView(
        id=row.id,
        customer_id=row.customer_id,
        kind=row.kind,
        trigger=row.trigger,
        channel=row.channel,
        created_at=row.created_at,
        expires_at=row.expires_at,
        answered_at=row.answered_at,
        score=row.score,
        comment=row.comment,
        complaint_id=row.complaint_id,
        contact_id=row.contact_id,
        agent_id=row.agent_id,
        campaign_id=row.campaign_id,
        questionnaire_id=row.questionnaire_id,
    )


async def insert(session: AsyncSession, new: NewSurvey) -> SurveyView:
    row = Survey(**asdict(new))
    session.add(row)
    await session.flush()
    return _view(row)


async def insert_once(session: AsyncSession, external_ref: str, new: NewSurvey) -> tuple[SurveyView, bool]:
    """The survey for this external reference, inserted unless one is there: (survey, created).
    The unique reference settles a race between two deliveries of the same callback; ON
    CONFLICT DO NOTHING waits for the other insert and spares a savepoint."""
    statement = (
        dialect_insert(session)(Survey)
        .values(external_ref=external_ref, **asdict(new))
        .on_conflict_do_nothing(index_elements=["external_ref"])
        .returning(Survey.id)
    )
    created = (await session.execute(statement)).first() is not None
    query = select(Survey).where(Survey.external_ref == external_ref)
    row = (await session.execute(query.execution_options(populate_existing=True))).scalar_one()
    return _view(row), created


async def get(session: AsyncSession, survey_id: int) -> SurveyView | None:
    row = await session.get(Survey, survey_id, populate_existing=True)
    return None if row is None else _view(row)


async def record_answer(
    session: AsyncSession, survey_id: int, score: int, comment: str | None, at: datetime
) -> bool:
    """Store the answer unless one is there already; the condition makes it once-only even
    when two answers race."""
    result = await session.execute(
        update(Survey)
        .where(Survey.id == survey_id, Survey.answered_at.is_(None))
        .values(score=score, comment=comment, answered_at=at)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def set_comment(session: AsyncSession, survey_id: int, comment: str) -> None:
    await session.execute(
        update(Survey)
        .where(Survey.id == survey_id)
        .values(comment=comment)
        .execution_options(synchronize_session=False)
    )


async def search(
    session: AsyncSession,
    *,
    customer_id: int | None = None,
    answered: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[SurveyView]:
    query = select(Survey).order_by(Survey.id.desc()).limit(limit).offset(offset)
    if customer_id is not None:
        query = query.where(Survey.customer_id == customer_id)
    if answered is not None:
        query = query.where(Survey.answered_at.is_not(None) if answered else Survey.answered_at.is_(None))
    return [_view(r) for r in (await session.execute(query)).scalars()]
