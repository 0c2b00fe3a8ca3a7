"""Questionnaire repository: the questions, each survey's answers, and the report's counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models.customers import Customer
from storage.models.questionnaires import Questionnaire, QuestionnaireQuestion, SurveyAnswer
from storage.models.surveys import Survey


@dataclass(frozen=True)
class QuestionView:
    id: int
    position: int
    kind: str  # scale5 | scale10 | choice | text
    text: dict[str, str]
    choices: tuple[dict[str, str], ...]


@dataclass(frozen=True)
class QuestionnaireView:
    id: int
    key: str | None
    title: dict[str, str]
    created_at: datetime
    questions: tuple[QuestionView, ...]


@dataclass(frozen=True)
class AnswerView:
    question_id: int
    value: int | None
    text: str | None
    skipped: bool
    channel: str
    answered_at: datetime


@dataclass(frozen=True)
class NewQuestion:
    kind: str
    text: dict[str, str]
    choices: tuple[dict[str, str], ...] = ()


async def insert(
    session: AsyncSession,
    *,
    key: str | None,
    title: dict[str, str],
    questions: Sequence[NewQuestion],
    created_by_id: int | None,
    now: datetime,
) -> int:
    row = Questionnaire(key=key, title=dict(title), created_by_id=created_by_id, created_at=now)
    session.add(row)
    await session.flush()
    _add_questions(session, row.id, questions)
    await session.flush()
    return row.id


def _add_questions(session: AsyncSession, questionnaire_id: int, questions: Sequence[NewQuestion]) -> None:
    for position, question in enumerate(questions, start=1):
        session.add(
            QuestionnaireQuestion(
                questionnaire_id=questionnaire_id,
                position=position,
                kind=question.kind,
                text=dict(question.text),
                choices=[dict(c) for c in question.choices],
            )
        )


async def insert_once(
    session: AsyncSession, key: str, title: dict[str, str], questions: Sequence[NewQuestion], now: datetime
) -> int:
    """The questionnaire shipped under `key`, inserted unless it is there: two first loads at
    once (two instances starting, two pages opened) leave one (ON CONFLICT DO NOTHING waits
    for the other insert)."""
    found = await id_by_key(session, key)
    if found is not None:
        return found
    statement = (
        dialect_insert(session)(Questionnaire)
        .values(key=key, title=dict(title), created_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(Questionnaire.id)
    )
    inserted = (await session.execute(statement)).scalar_one_or_none()
    if inserted is None:
        found = await id_by_key(session, key)
        assert found is not None  # noqa: S101 - the conflicting row is there
        return found
    _add_questions(session, inserted, questions)
    await session.flush()
    return int(inserted)


async def id_by_key(session: AsyncSession, key: str) -> int | None:
    found = await session.execute(select(Questionnaire.id).where(Questionnaire.key == key))
    return found.scalar_one_or_none()


def _question(row: QuestionnaireQuestion) -> QuestionView:
    return QuestionView(row.id, row.position, row.kind, dict(row.text), tuple(dict(c) for c in row.choices))


async def get_many(session: AsyncSession, ids: Sequence[int] | None = None) -> list[QuestionnaireView]:
    """Questionnaires with their questions in order (all of them without `ids`), newest first."""
    query = select(Questionnaire).order_by(Questionnaire.id.desc())
    if ids is not None:
        query = query.where(Questionnaire.id.in_(list(ids)))
    heads = list((await session.execute(query)).scalars())
    if not heads:
        return []
    rows = await session.execute(
        select(QuestionnaireQuestion)
        .where(QuestionnaireQuestion.questionnaire_id.in_([h.id for h in heads]))
        .order_by(QuestionnaireQuestion.questionnaire_id, QuestionnaireQuestion.position)
    )
    questions: dict[int, list[QuestionView]] = {}
    for row in rows.scalars():
        questions.setdefault(row.questionnaire_id, []).append(_question(row))
    return [
        QuestionnaireView(h.id, h.key, dict(h.title), h.created_at, tuple(questions.get(h.id, ())))
        for h in heads
    ]


async def get(session: AsyncSession, questionnaire_id: int) -> QuestionnaireView | None:
    found = await get_many(session, [questionnaire_id])
    return found[0] if found else None


async def answers(session: AsyncSession, survey_id: int) -> list[AnswerView]:
    rows = await session.execute(
        select(SurveyAnswer).where(SurveyAnswer.survey_id == survey_id).order_by(SurveyAnswer.id)
    )
    return [
        AnswerView(r.question_id, r.value, r.text, r.skipped, r.channel, r.answered_at)
        for r in rows.scalars()
    ]


async def record(
    session: AsyncSession,
    survey_id: int,
    question_id: int,
    *,
    value: int | None,
    text: str | None,
    skipped: bool,
    channel: str,
    agent_id: int | None,
    now: datetime,
) -> bool:
    """Store one answer unless the question has one already (the first answer stands, even
    when two deliveries race): True when this one was stored."""
    statement = (
        dialect_insert(session)(SurveyAnswer)
        .values(
            survey_id=survey_id,
            question_id=question_id,
            value=value,
            text=text,
            skipped=skipped,
            channel=channel,
            agent_id=agent_id,
            answered_at=now,
        )
        .on_conflict_do_nothing(index_elements=["survey_id", "question_id"])
        .returning(SurveyAnswer.id)
    )
    return (await session.execute(statement)).first() is not None


async def complete(session: AsyncSession, survey_id: int, now: datetime) -> None:
    await session.execute(
        update(Survey)
        .where(Survey.id == survey_id, Survey.answered_at.is_(None))
        .values(answered_at=now)
        .execution_options(synchronize_session=False)
    )


async def open_for_customer(session: AsyncSession, customer_id: int, now: datetime) -> list[tuple[int, int]]:
    """The customer's questionnaires still open (not finished, not expired), newest first,
    each as (survey id, answers given)."""
    given = (
        select(func.count()).where(SurveyAnswer.survey_id == Survey.id).correlate(Survey).scalar_subquery()
    )
    rows = await session.execute(
        select(Survey.id, given)
        .where(
            Survey.customer_id == customer_id,
            Survey.kind == "quest",
            Survey.answered_at.is_(None),
            Survey.expires_at > now,
        )
        .order_by(Survey.id.desc())
        .limit(10)
    )
    return [(int(r[0]), int(r[1])) for r in rows]


# The segments a report splits by: the customer's tier and region, the channel of the answer.
SEGMENTS: dict[str, Any] = {
    "tier": Customer.tier,
    "region": func.coalesce(Customer.region, ""),
    "channel": SurveyAnswer.channel,
}


@dataclass(frozen=True)
class Count:
    question_id: int
    segment: str | None  # None: the whole questionnaire
    value: int | None  # None: a text, or skipped
    skipped: bool
    n: int


def _window(start: datetime | None, end: datetime | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if start is not None:
        where.append(SurveyAnswer.answered_at >= start)
    if end is not None:
        where.append(SurveyAnswer.answered_at < end)
    return where


async def counts(
    session: AsyncSession,
    questionnaire_id: int,
    dimension: str | None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Count]:
    """Answers counted by question, value (skipped apart) and, with a dimension, segment:
    one grouped statement, a handful of rows per question and segment however many answered."""
    segment = SEGMENTS[dimension] if dimension is not None else None
    columns: list[Any] = [SurveyAnswer.question_id, SurveyAnswer.value, SurveyAnswer.skipped]
    if segment is not None:
        columns.append(segment.label("segment"))
    query = (
        select(*columns, func.count().label("n"))
        .join(Survey, Survey.id == SurveyAnswer.survey_id)
        .where(Survey.questionnaire_id == questionnaire_id, *_window(start, end))
        .group_by(*columns)
    )
    if dimension == "tier" or dimension == "region":
        query = query.join(Customer, Customer.id == Survey.customer_id)
    rows = await session.execute(query)
    return [
        Count(
            int(r.question_id),
            str(r.segment) if segment is not None else None,
            r.value,
            bool(r.skipped),
            int(r.n),
        )
        for r in rows
    ]


async def recent_texts(
    session: AsyncSession,
    questionnaire_id: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 10,
) -> list[tuple[int, str, datetime]]:
    """The latest free-text answers per questionnaire: (question id, text, when)."""
    rows = await session.execute(
        select(SurveyAnswer.question_id, SurveyAnswer.text, SurveyAnswer.answered_at)
        .join(Survey, Survey.id == SurveyAnswer.survey_id)
        .where(
            Survey.questionnaire_id == questionnaire_id, SurveyAnswer.text.is_not(None), *_window(start, end)
        )
        .order_by(SurveyAnswer.answered_at.desc(), SurveyAnswer.id.desc())
        .limit(limit)
    )
    return [(int(r[0]), str(r[1]), r[2]) for r in rows]


async def survey_totals(session: AsyncSession, questionnaire_id: int) -> tuple[int, int, int]:
    """(sent, started, finished): surveys of this questionnaire, those with an answer, those done."""
    started = select(SurveyAnswer.id).where(SurveyAnswer.survey_id == Survey.id).correlate(Survey).exists()
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(started),
                func.count(Survey.answered_at),
            ).where(Survey.questionnaire_id == questionnaire_id)
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])
