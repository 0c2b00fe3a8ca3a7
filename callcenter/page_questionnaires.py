"""Questionnaire pages. Supervisors: `/supervisor/satisfaction/questionnaires` (the list, the shipped yearly
survey among them) and `/supervisor/satisfaction/questionnaires/{id}` (a chart per question and the figures
per segment, downloadable as CSV). Agents: `/surveys/{id}/answers`, the form on which the agent
on a dialer call records the answers the customer reads out."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from callcenter.charts import BarChart, bar_chart
from callcenter.console_auth import check_csrf
from callcenter.console_pages import page_language, render_page, require_page_user
from callcenter.keys import REPORT_SESSIONS, SESSIONS
from callcenter.params import path_id
from callcenter.serialize import read_form
from callcenter.web_errors import status_for
from handlers import questionnaires
from handlers.errors import DomainError, InvalidInput
from handlers.inputs import whole_number
from handlers.questionnaires import DIMENSIONS, Given, Progress
from handlers.roles import MANAGERS, STAFF
from storage.audit import Actor
from storage.questionnaires import QuestionView


async def list_page(request: web.Request) -> web.Response:
    user = await require_page_user(request, *MANAGERS)
    async with request.app[SESSIONS]() as session:
        await questionnaires.ensure_templates(session)
        found = await questionnaires.list_all(session)
        totals = {q.id: await questionnaires.totals(session, q.id) for q in found}
    return await render_page(
        request, "pages/questionnaires.html.j2", user, questionnaires=found, totals=totals
    )


def _chart(question: dict[str, Any]) -> BarChart | None:
    """The spread of a question's answers: a bar per score or option (none for free text)."""
    if question["kind"] == "text":
        return None
    labels = list(question["distribution"])
    counts = [question["distribution"][v] for v in labels]
    return bar_chart(labels, {"answers": counts}, width=390, height=140)


async def report_page(request: web.Request) -> web.Response:
    user = await require_page_user(request, *MANAGERS)
    questionnaire_id = path_id(request, "questionnaire_id")
    by = request.query.get("by", "tier")
    if by not in DIMENSIONS:
        raise InvalidInput("by is tier, region or channel", field="by", allowed=list(DIMENSIONS))
    async with request.app[REPORT_SESSIONS]() as session:
        found = await questionnaires.report(session, questionnaire_id)
    charts = {q["id"]: _chart(q) for q in found["questions"]}
    language = await page_language(request, user)
    return await render_page(
        request,
        "pages/questionnaire_report.html.j2",
        user,
        report=found,
        charts=charts,
        by=by,
        dimensions=DIMENSIONS,
        csv_url=f"/api/v1/reports/questionnaires/{questionnaire_id}?format=csv&lang={language}",
    )


def _given(question: QuestionView, form: dict[str, str]) -> Given | None:
    """A question's fields as an answer: `skip` (a choice or a ticked box) is declined, an
    empty one not asked yet, else the value or the text."""
    raw = form.get(f"q{question.id}", "").strip()
    if raw == "skip" or form.get(f"skip{question.id}"):
        return Given(skip=True)
    if not raw:
        return None
    if question.kind == "text":
        return Given(text=raw)
    return Given(value=whole_number(raw, high=99))


async def _answer_form(
    request: web.Request,
    found: Progress,
    *,
    kept: dict[str, str] | None = None,
    error: dict[str, Any] | None = None,
    saved: bool = False,
    status: int = 200,
) -> web.Response:
    user = await require_page_user(request, *STAFF)
    return await render_page(
        request,
        "pages/survey_answers.html.j2",
        user,
        progress=found,
        kept=kept or {},
        error=error,
        saved=saved,
        status=status,
    )


async def answers_page(request: web.Request) -> web.Response:
    await require_page_user(request, *STAFF)
    survey_id = path_id(request, "survey_id")
    async with request.app[SESSIONS]() as session:
        found = await questionnaires.progress(session, survey_id)
    return await _answer_form(request, found, saved=request.query.get("saved") == "1")


async def record_answers(request: web.Request) -> web.StreamResponse:
    """The agent's form: every answer checked first, so one wrong value stores nothing and
    the form comes back as it was filled in, with the message."""
    user = await require_page_user(request, *STAFF)
    survey_id = path_id(request, "survey_id")
    form = await read_form(request)
    await check_csrf(request, str(form.get("csrf", "")))
    kept = {name: str(value) for name, value in form.items() if name != "csrf"}
    async with request.app[SESSIONS]() as session:
        found = await questionnaires.progress(session, survey_id)
        given = {}
        for question in found.questionnaire.questions:
            item = _given(question, kept)
            if item is not None and question.id not in found.answers:
                given[question.id] = item
        try:
            await questionnaires.record_for_customer(session, Actor.of(user, "console"), survey_id, given)
        except DomainError as problem:
            return await _answer_form(
                request, found, kept=kept, error=_refusal(problem), status=status_for(problem)
            )
    raise web.HTTPSeeOther(f"/surveys/{survey_id}/answers?saved=1")


def _refusal(problem: DomainError) -> dict[str, Any]:
    """What the form says about a refusal: its id, and for a wrong answer which question and
    the range it takes."""
    return {"id": problem.error_id, **problem.details}


def setup(app: web.Application) -> None:
    app.router.add_get("/supervisor/satisfaction/questionnaires", list_page)
    app.router.add_get("/supervisor/satisfaction/questionnaires/{questionnaire_id}", report_page)
    app.router.add_get("/surveys/{survey_id}/answers", answers_page)
    app.router.add_post("/surveys/{survey_id}/answers", record_answers)
