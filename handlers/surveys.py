"""Satisfaction surveys: CSAT (1–5) and NPS (0–10), one answer each, before they expire."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import notify
from handlers.defaults import SURVEY_LIFETIME
from handlers.errors import Conflict, Forbidden, InvalidInput, NotFound
from storage import customers as customers_repo
from storage import questionnaires as questionnaires_repo
from storage import surveys as repo
from storage.audit import Actor, audit, audit_each_customer
from storage.models.base import utcnow
from storage.surveys import NewSurvey, SurveyView
from storage.users import UserRecord

SCALES = {"csat": (1, 5), "nps": (0, 10)}
# A questionnaire (several questions, handlers/questionnaires.py) is a survey of kind `quest`.
QUESTIONNAIRE = "quest"
KINDS = (*SCALES, QUESTIONNAIRE)
TRIGGERS = ("complaint", "call", "chat", "campaign", "periodic")
EXTERNAL_REF_LENGTH = 80


async def queue_survey(
    session: AsyncSession,
    *,
    customer_id: int,
    kind: str,
    trigger: str,
    channel: str = "telegram",
    complaint_id: int | None = None,
    contact_id: int | None = None,
    agent_id: int | None = None,
    campaign_id: int | None = None,
    external_ref: str | None = None,
    questionnaire_id: int | None = None,
    now: datetime | None = None,
    ttl: timedelta = SURVEY_LIFETIME,
) -> SurveyView:
    """Create a survey and queue its question; the caller commits. A phone survey is asked
    on the call itself (IVR), so nothing is queued for it. With `external_ref` (the sender's
    id for what triggered it, e.g. `twilio:<CallSid>`) a repeated trigger gets the same survey."""
    if kind not in KINDS:
        raise InvalidInput("a survey is csat, nps or quest", field="kind", allowed=list(KINDS))
    if (kind == QUESTIONNAIRE) != (questionnaire_id is not None):
        raise InvalidInput(
            "a questionnaire survey (quest) names its questionnaire_id, and only it", field="questionnaire_id"
        )
    if questionnaire_id is not None and await questionnaires_repo.get(session, questionnaire_id) is None:
        raise NotFound("no such questionnaire", questionnaire_id=questionnaire_id)
    if trigger not in TRIGGERS:
        raise InvalidInput("unknown survey trigger", field="trigger", allowed=list(TRIGGERS))
    now = now or utcnow()
    new = NewSurvey(
        customer_id=customer_id,
        kind=kind,
        trigger=trigger,
        channel=channel,
        complaint_id=complaint_id,
        contact_id=contact_id,
        agent_id=agent_id,
        campaign_id=campaign_id,
        questionnaire_id=questionnaire_id,
        created_at=now,
        expires_at=now + ttl,
    )
    if external_ref is None:
        survey, created = await repo.insert(session, new), True
    else:
        if len(external_ref) > EXTERNAL_REF_LENGTH:
            raise InvalidInput("the survey's external reference is too long", field="external_ref")
        survey, created = await repo.insert_once(session, external_ref, new)
    if created and channel != "phone":
        await notify.enqueue(
            session,
            customer_id,
            kind=f"{kind}_survey",
            template=f"{kind}_survey",
            payload={"survey_id": survey.id},
            dedupe_key=f"survey:{survey.id}",
        )
    return survey


async def send_survey(session: AsyncSession, *, customer_id: int, **kwargs: object) -> SurveyView:
    """A survey someone asked for: to a customer that exists (not a foreign-key error)."""
    if await customers_repo.get(session, customer_id, details=False) is None:
        raise NotFound("no such customer", customer_id=customer_id)
    survey = await queue_survey(session, customer_id=customer_id, **kwargs)  # type: ignore[arg-type]
    await session.commit()
    return survey


async def answer(
    session: AsyncSession,
    survey_id: int,
    score: int,
    *,
    comment: str | None = None,
    customer_id: int | None = None,
    now: datetime | None = None,
) -> SurveyView:
    now = now or utcnow()
    survey = await repo.get(session, survey_id)
    if survey is None or (customer_id is not None and survey.customer_id != customer_id):
        raise NotFound("no such survey", survey_id=survey_id)
    if survey.kind not in SCALES:
        raise Conflict(
            "a questionnaire is answered question by question", error_id="questionnaire", survey_id=survey_id
        )
    low, high = SCALES[survey.kind]
    if not isinstance(score, int) or isinstance(score, bool) or not low <= score <= high:
        raise InvalidInput(f"the score is a whole number from {low} to {high}", field="score")
    if survey.answered_at is not None:
        raise Conflict("this survey has already been answered, thank you", error_id="already-answered")
    if now > survey.expires_at:
        raise Conflict("this survey has expired", error_id="survey-expired")
    text = (comment or "").strip()[:2000] or None
    if not await repo.record_answer(session, survey_id, score, text, now):
        raise Conflict("this survey has already been answered, thank you", error_id="already-answered")
    await session.commit()
    answered = await repo.get(session, survey_id)
    if answered is None:
        raise NotFound("no such survey", survey_id=survey_id)
    return answered


async def answer_for_customer(
    session: AsyncSession, user: UserRecord, survey_id: int, score: int, *, comment: str | None = None
) -> SurveyView:
    """A member of staff records the answer a customer gave them (by phone, on paper).
    Nobody answers a survey that rates themselves: the score would be theirs to choose."""
    survey = await repo.get(session, survey_id)
    if survey is None:
        raise NotFound("no such survey", survey_id=survey_id)
    if survey.agent_id is not None and survey.agent_id == user.id:
        raise Forbidden("this survey rates you; someone else must record the answer", error_id="self-rating")
    await audit(
        session,
        actor=Actor.of(user, "api"),
        action="survey.answer",
        customer_id=survey.customer_id,
        subject_type="survey",
        subject_id=survey_id,
        details={"score": score},
    )
    return await answer(session, survey_id, score, comment=comment)


async def add_comment(
    session: AsyncSession, survey_id: int, comment: str, *, customer_id: int | None = None
) -> SurveyView:
    survey = await repo.get(session, survey_id)
    if survey is None or (customer_id is not None and survey.customer_id != customer_id):
        raise NotFound("no such survey", survey_id=survey_id)
    if survey.answered_at is None:
        raise Conflict("answer the question before adding a comment", error_id="not-answered")
    text = comment.strip()[:2000]
    if not text:
        raise InvalidInput("the comment is empty", field="comment")
    await repo.set_comment(session, survey_id, text)
    await session.commit()
    updated = await repo.get(session, survey_id)
    if updated is None:
        raise NotFound("no such survey", survey_id=survey_id)
    return updated


async def list_surveys(
    session: AsyncSession, *, customer_id: int | None = None, answered: bool | None = None, limit: int = 100
) -> list[SurveyView]:
    return await repo.search(session, customer_id=customer_id, answered=answered, limit=limit)


async def read_surveys(
    session: AsyncSession, reader: Actor, *, customer_id: int | None, answered: bool | None, limit: int
) -> list[SurveyView]:
    """Surveys for a list; each customer shown gets an audit entry naming their surveys."""
    found = await repo.search(session, customer_id=customer_id, answered=answered, limit=limit)
    await audit_each_customer(
        session,
        actor=reader,
        action="survey.list",
        shown=[(s.customer_id, s.id) for s in found],
        key="surveys",
    )
    await session.commit()
    return found
