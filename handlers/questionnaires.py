"""Questionnaires: surveys of several questions, asked one at a time on any channel.

A question is a 1–5 scale, a 0–10 scale, a single choice or free text. Each answer is kept
the moment it is given, so a customer who stops can carry on later from the first question
without an answer; the survey counts as answered once every question has one (or was
skipped). The first answer to a question stands: a repeated delivery changes nothing.

The yearly survey on service quality, pricing and the company as a whole ships as the
template `yearly` (both languages), loaded by `ensure_templates`."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import Conflict, InvalidInput, NotFound
from storage import questionnaires as repo
from storage import surveys as surveys_repo
from storage.audit import Actor, audit
from storage.models.base import utcnow
from storage.questionnaires import AnswerView, NewQuestion, QuestionnaireView, QuestionView
from templates import LANGUAGES

KINDS = ("scale5", "scale10", "choice", "text")
RANGES = {"scale5": (1, 5), "scale10": (0, 10)}
# Where an answer was given: the customer on Telegram, by keypad on a call, an agent who
# read the questions out (the dialer), or an API client.
CHANNELS = ("telegram", "ivr", "agent", "api")
MAX_QUESTIONS = 20
MAX_CHOICES = 9  # a choice is also picked by one keypad digit
MAX_TEXT = 2000
DIMENSIONS = tuple(repo.SEGMENTS)


@dataclass(frozen=True)
class QuestionnaireSpec:
    title: dict[str, str]
    questions: list[dict[str, Any]]
    key: str | None = None


YEARLY = QuestionnaireSpec(
    key="yearly",
    title={"en": "Yearly satisfaction survey", "zh": "年度满意度调查"},
    questions=[
        {
            "kind": "scale5",
            "text": {
                "en": "How satisfied are you with the quality of our service?",
                "zh": "您对我们的服务质量满意吗？",
            },
        },
        {
            "kind": "scale5",
            "text": {"en": "How satisfied are you with our prices?", "zh": "您对我们的资费价格满意吗？"},
        },
        {
            "kind": "scale10",
            "text": {
                "en": "How likely are you to recommend our company to a friend or colleague?",
                "zh": "您有多大可能向亲友推荐我们公司？",
            },
        },
        {
            "kind": "choice",
            "text": {"en": "What should we improve first?", "zh": "您最希望我们先改进哪一方面？"},
            "choices": [
                {"en": "Network coverage", "zh": "网络覆盖"},
                {"en": "Prices and plans", "zh": "资费套餐"},
                {"en": "Customer service", "zh": "客户服务"},
                {"en": "Billing", "zh": "账单"},
            ],
        },
        {
            "kind": "text",
            "text": {
                "en": "Is there anything else you would like to tell us about the company?",
                "zh": "关于我们公司，您还有什么想说的吗？",
            },
        },
    ],
)
TEMPLATES = (YEARLY,)


def _texts(raw: Any, what: str, limit: int) -> dict[str, str]:
    """A text in each language: both given, none empty, none too long."""
    if not isinstance(raw, dict) or set(raw) != set(LANGUAGES):
        raise InvalidInput(f"{what} is written in each language", field=what, languages=list(LANGUAGES))
    texts = {lang: raw[lang].strip() if isinstance(raw[lang], str) else "" for lang in LANGUAGES}
    if any(not t or len(t) > limit for t in texts.values()):
        raise InvalidInput(f"{what} is 1 to {limit} characters in each language", field=what)
    return texts


def _questions(raw: Any) -> list[NewQuestion]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_QUESTIONS:
        raise InvalidInput(f"a questionnaire has 1 to {MAX_QUESTIONS} questions", field="questions")
    questions = []
    for item in raw:
        if not isinstance(item, dict) or item.get("kind") not in KINDS:
            raise InvalidInput("each question has a kind", field="questions", allowed=list(KINDS))
        choices: tuple[dict[str, str], ...] = ()
        if item["kind"] == "choice":
            options = item.get("choices")
            if not isinstance(options, list) or not 2 <= len(options) <= MAX_CHOICES:
                raise InvalidInput(f"a choice has 2 to {MAX_CHOICES} options", field="questions")
            choices = tuple(_texts(o, "choices", 60) for o in options)
        elif item.get("choices"):
            raise InvalidInput("only a choice question has options", field="questions")
        questions.append(NewQuestion(item["kind"], _texts(item.get("text"), "text", 300), choices))
    return questions


async def create(
    session: AsyncSession, spec: QuestionnaireSpec, *, created_by: int | None = None
) -> QuestionnaireView:
    title = _texts(spec.title, "title", 120)
    questions = _questions(spec.questions)
    new_id = await repo.insert(
        session, key=spec.key, title=title, questions=questions, created_by_id=created_by, now=utcnow()
    )
    await session.commit()
    return await get(session, new_id)


async def ensure_templates(session: AsyncSession) -> dict[str, int]:
    """The shipped questionnaires, created once (by their key): {key: id}."""
    ids = {}
    for spec in TEMPLATES:
        assert spec.key is not None  # noqa: S101 - every template has its key
        title, questions = _texts(spec.title, "title", 120), _questions(spec.questions)
        ids[spec.key] = await repo.insert_once(session, spec.key, title, questions, utcnow())
    await session.commit()
    return ids


async def get(session: AsyncSession, questionnaire_id: int) -> QuestionnaireView:
    found = await repo.get(session, questionnaire_id)
    if found is None:
        raise NotFound("no such questionnaire", questionnaire_id=questionnaire_id)
    return found


async def list_all(session: AsyncSession) -> list[QuestionnaireView]:
    return await repo.get_many(session)


@dataclass(frozen=True)
class Progress:
    """Where a survey stands: the answers given, and the question to ask next (None: done)."""

    survey_id: int
    customer_id: int
    questionnaire: QuestionnaireView
    answers: dict[int, AnswerView]
    expired: bool
    recorded: bool = False  # the call that returned this stored an answer

    @property
    def next(self) -> QuestionView | None:
        return next((q for q in self.questionnaire.questions if q.id not in self.answers), None)

    @property
    def done(self) -> bool:
        return self.next is None

    @property
    def count(self) -> int:
        return len(self.questionnaire.questions)

    def number(self, question: QuestionView) -> int:
        return self.questionnaire.questions.index(question) + 1


async def progress(
    session: AsyncSession, survey_id: int, *, customer_id: int | None = None, now: datetime | None = None
) -> Progress:
    survey = await surveys_repo.get(session, survey_id)
    if survey is None or survey.questionnaire_id is None:
        raise NotFound("no such questionnaire survey", survey_id=survey_id)
    if customer_id is not None and survey.customer_id != customer_id:
        raise NotFound("no such questionnaire survey", survey_id=survey_id)
    questionnaire = await get(session, survey.questionnaire_id)
    answers = {a.question_id: a for a in await repo.answers(session, survey_id)}
    expired = survey.answered_at is None and (now or utcnow()) > survey.expires_at
    return Progress(survey.id, survey.customer_id, questionnaire, answers, expired)


async def open_for_customer(
    session: AsyncSession, customer_id: int, *, started: bool = False, now: datetime | None = None
) -> Progress | None:
    """The questionnaire the customer is in the middle of (or, unless `started`, one they
    were sent and have not begun): the newest begun one first."""
    found = await repo.open_for_customer(session, customer_id, now or utcnow())
    begun = [survey_id for survey_id, given in found if given > 0]
    chosen = begun[0] if begun else (found[0][0] if found and not started else None)
    return None if chosen is None else await progress(session, chosen, now=now)


@dataclass(frozen=True)
class Given:
    """An answer as a channel received it: a number (a score, or a choice counted from 1),
    a text, or a skip."""

    value: int | None = None
    text: str | None = None
    skip: bool = False


def check(question: QuestionView, given: Given) -> tuple[int | None, str | None]:
    """The value and text to store, or InvalidInput (error_id `out-of-range` with the range a
    customer can be told) for an answer this question cannot take."""
    if given.skip:
        return None, None
    if question.kind in RANGES:
        low, high = RANGES[question.kind]
        if given.value is None or not low <= given.value <= high:
            raise InvalidInput(
                f"the answer is a whole number from {low} to {high}",
                error_id="out-of-range",
                low=low,
                high=high,
            )
        return given.value, None
    if question.kind == "choice":
        high = len(question.choices)
        if given.value is None or not 1 <= given.value <= high:
            raise InvalidInput(
                f"the answer is an option from 1 to {high}", error_id="out-of-range", low=1, high=high
            )
        return given.value, None
    text = (given.text or "").strip()[:MAX_TEXT]
    if not text:
        raise InvalidInput("the answer is a few words", error_id="empty-text", field="text")
    return None, text


async def answer(
    session: AsyncSession,
    survey_id: int,
    question_id: int,
    given: Given,
    *,
    channel: str,
    customer_id: int | None = None,
    agent_id: int | None = None,
    now: datetime | None = None,
) -> Progress:
    """Record one answer and return where the survey stands. A question already answered
    keeps its first answer (`recorded` is False); one outside the survey is NotFound; an
    answer the question cannot take is InvalidInput and stores nothing."""
    now = now or utcnow()
    if channel not in CHANNELS:
        raise InvalidInput("unknown answer channel", field="channel", allowed=list(CHANNELS))
    before = await progress(session, survey_id, customer_id=customer_id, now=now)
    question = next((q for q in before.questionnaire.questions if q.id == question_id), None)
    if question is None:
        raise NotFound("no such question in this survey", question_id=question_id)
    if question.id in before.answers:
        return before
    if before.expired:
        raise Conflict("this survey has expired", error_id="survey-expired")
    value, text = check(question, given)
    recorded = await repo.record(
        session,
        survey_id,
        question_id,
        value=value,
        text=text,
        skipped=given.skip,
        channel=channel,
        agent_id=agent_id,
        now=now,
    )
    after = await progress(session, survey_id, now=now)
    if after.done:
        await repo.complete(session, survey_id, now)
    await session.commit()
    return Progress(after.survey_id, after.customer_id, after.questionnaire, after.answers, False, recorded)


async def record_for_customer(
    session: AsyncSession,
    actor: Actor,
    survey_id: int,
    given: dict[int, Given],
    *,
    now: datetime | None = None,
) -> Progress:
    """An agent records the answers a customer read out on the phone (the dialer): each is
    checked before any is stored, so a wrong one loses nothing; questions already answered
    keep their answers. Audited as the agent's."""
    now = now or utcnow()
    current = await progress(session, survey_id, now=now)
    if current.expired:
        raise Conflict("this survey has expired", error_id="survey-expired")
    by_id = {q.id: q for q in current.questionnaire.questions}
    for question_id, item in given.items():
        if question_id not in by_id:
            raise NotFound("no such question in this survey", question_id=question_id)
        try:
            check(by_id[question_id], item)
        except InvalidInput as error:
            error.details["question"] = by_id[question_id].position
            raise
    for question_id, item in given.items():
        if question_id in current.answers:
            continue
        value, text = check(by_id[question_id], item)
        await repo.record(
            session,
            survey_id,
            question_id,
            value=value,
            text=text,
            skipped=item.skip,
            channel="agent",
            agent_id=actor.user_id,
            now=now,
        )
    after = await progress(session, survey_id, now=now)
    if after.done:
        await repo.complete(session, survey_id, now)
    await audit(
        session,
        actor=actor,
        action="survey.answer",
        customer_id=after.customer_id,
        subject_type="survey",
        subject_id=survey_id,
        details={"questions": sorted(by_id[q].position for q in given if q not in current.answers)},
    )
    await session.commit()
    return after


async def totals(session: AsyncSession, questionnaire_id: int) -> dict[str, int]:
    """How many surveys of it were sent, begun and finished."""
    sent, started, finished = await repo.survey_totals(session, questionnaire_id)
    return {"sent": sent, "started": started, "finished": finished}


# The report -----------------------------------------------------------------------------


@dataclass
class Figures:
    """One question's answers in one segment (or overall)."""

    answers: int = 0
    skipped: int = 0
    distribution: dict[int, int] = field(default_factory=dict)  # value -> how many

    def add(self, count: repo.Count) -> None:
        if count.skipped:
            self.skipped += count.n
            return
        self.answers += count.n
        if count.value is not None:
            self.distribution[count.value] = self.distribution.get(count.value, 0) + count.n

    def mean(self, kind: str) -> float | None:
        total = sum(self.distribution.values())
        if kind not in RANGES or not total:
            return None
        return round(sum(v * n for v, n in self.distribution.items()) / total, 2)

    def nps(self, kind: str) -> float | None:
        total = sum(self.distribution.values())
        if kind != "scale10" or not total:
            return None
        promoters = sum(n for v, n in self.distribution.items() if v >= 9)
        detractors = sum(n for v, n in self.distribution.items() if v <= 6)
        return round(100 * (promoters - detractors) / total, 1)


def values_of(question: QuestionView) -> list[int]:
    """The values a question's answers can take, in order (none for free text)."""
    if question.kind in RANGES:
        low, high = RANGES[question.kind]
        return list(range(low, high + 1))
    return list(range(1, len(question.choices) + 1)) if question.kind == "choice" else []


def _figures_json(question: QuestionView, figures: Figures) -> dict[str, Any]:
    return {
        "answers": figures.answers,
        "skipped": figures.skipped,
        "mean": figures.mean(question.kind),
        "nps": figures.nps(question.kind),
        "distribution": {str(v): figures.distribution.get(v, 0) for v in values_of(question)},
    }


def _grouped(counts: list[repo.Count]) -> dict[tuple[str | None, int], Figures]:
    grouped: dict[tuple[str | None, int], Figures] = {}
    for count in counts:
        grouped.setdefault((count.segment, count.question_id), Figures()).add(count)
    return grouped


async def report(
    session: AsyncSession,
    questionnaire_id: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """Per question (count, mean, NPS for 0–10, the spread of answers, the latest texts) and
    per segment: the customer's tier and region, the channel the answer came by."""
    questionnaire = await get(session, questionnaire_id)
    overall = _grouped(await repo.counts(session, questionnaire_id, None, start, end))
    texts: dict[int, list[dict[str, Any]]] = {}
    for question_id, text, at in await repo.recent_texts(session, questionnaire_id, start=start, end=end):
        texts.setdefault(question_id, []).append({"text": text, "at": at})
    questions = []
    for q in questionnaire.questions:
        item = {
            "id": q.id,
            "position": q.position,
            "kind": q.kind,
            "text": q.text,
            "choices": list(q.choices),
            **_figures_json(q, overall.get((None, q.id), Figures())),
        }
        if q.kind == "text":
            item["latest"] = texts.get(q.id, [])
        questions.append(item)
    segments: dict[str, list[dict[str, Any]]] = {}
    for dimension in DIMENSIONS:
        grouped = _grouped(await repo.counts(session, questionnaire_id, dimension, start, end))
        names = sorted({segment or "" for segment, _ in grouped})
        segments[dimension] = [
            {
                "segment": name,
                "questions": [
                    {"question_id": q.id, "position": q.position, **_figures_json(q, grouped[(name, q.id)])}
                    for q in questionnaire.questions
                    if (name, q.id) in grouped
                ],
            }
            for name in names
        ]
    return {
        "questionnaire": {
            "id": questionnaire.id,
            "key": questionnaire.key,
            "title": questionnaire.title,
        },
        "from": start,
        "to": end,
        "surveys": await totals(session, questionnaire_id),
        "questions": questions,
        "segments": segments,
    }


CSV_COLUMNS = ("dimension", "segment", "question", "question_text", "kind", "answer", "count", "mean")


def report_csv(found: dict[str, Any], language: str) -> str:
    """The report as one table to open in a spreadsheet: a row per segment, question and
    possible answer (the overall figures under dimension `all`), with the segment's mean."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    questions = {q["id"]: q for q in found["questions"]}
    parts: list[tuple[str, str, list[dict[str, Any]]]] = [
        ("all", "", [{"question_id": q["id"], **q} for q in found["questions"]])
    ]
    for dimension, rows in found["segments"].items():
        parts += [(dimension, row["segment"], row["questions"]) for row in rows]
    for dimension, segment, figures in parts:
        for item in figures:
            question = questions[item["question_id"]]
            text = question["text"].get(language) or question["text"]["en"]
            head = [dimension, segment, question["position"], text, question["kind"]]
            mean = "" if item["mean"] is None else item["mean"]
            for value, n in item["distribution"].items():
                label = value
                if question["kind"] == "choice":
                    choice = question["choices"][int(value) - 1]
                    label = choice.get(language) or choice["en"]
                writer.writerow([*head, label, n, mean])
            if question["kind"] == "text":
                writer.writerow([*head, "", item["answers"], ""])
            if item["skipped"]:
                writer.writerow([*head, "skipped", item["skipped"], mean])
    return out.getvalue()
