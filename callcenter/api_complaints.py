"""`/api/v1/complaints`, `/api/v1/surveys`, `/api/v1/reports/satisfaction`, `/api/v1/alerts`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.auth import require_user
from callcenter.complaints_setup import POLICY
from callcenter.keys import OPENAPI, SESSIONS
from callcenter.openapi import error_responses
from callcenter.params import Id, id_parameter, path_id, query_int, query_moment
from callcenter.serialize import json_response, parse, plain, read_json
from handlers import complaints, reports, surveys
from handlers.errors import InvalidInput
from handlers.inputs import MAX_ID
from storage import complaints as complaints_repo
from storage.models.base import utcnow

STAFF = ("agent", "supervisor", "admin")
SUPERVISORS = ("supervisor", "admin")


class ComplaintIn(BaseModel):
    customer_id: Id
    category: str
    description: str = Field(max_length=4000)
    severity: str = "standard"
    channel: str = "api"
    attachments: list[str] = Field(default_factory=list, max_length=10)


class TransitionIn(BaseModel):
    to: str
    note: str | None = Field(default=None, max_length=2000)
    resolution: str | None = Field(default=None, max_length=4000)
    compensation: str | None = Field(default=None, max_length=500)


class SatisfactionIn(BaseModel):
    satisfied: bool


class SurveyIn(BaseModel):
    customer_id: Id
    kind: str
    trigger: str = "periodic"
    channel: str = "telegram"


class AnswerIn(BaseModel):
    score: int
    comment: str | None = Field(default=None, max_length=2000)


async def create_complaint(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    body = parse(ComplaintIn, await read_json(request))
    async with request.app[SESSIONS]() as session:
        complaint = await complaints.lodge(
            session,
            customer_id=body.customer_id,
            category=body.category,
            description=body.description,
            channel=body.channel,
            severity=body.severity,
            attachments=body.attachments,
            actor=user,
            policy=request.app[POLICY],
        )
    return json_response(complaint, status=201)


async def list_complaints(request: web.Request) -> web.Response:
    await require_user(request, *STAFF)
    states = [s for s in request.query.getall("state", []) if s]
    for state in states:
        if state not in complaints.STATES:
            raise InvalidInput("unknown state", field="state", allowed=list(complaints.STATES))
    overdue = request.query.get("overdue", "").lower() in ("1", "true", "yes")
    limit = min(query_int(request, "limit", low=1) or 100, 500)
    async with request.app[SESSIONS]() as session:
        found = await complaints_repo.search(
            session,
            customer_id=query_int(request, "customer_id", low=1),
            states=states,
            overdue_at=utcnow() if overdue else None,
            limit=limit,
            offset=query_int(request, "offset") or 0,
        )
    return json_response({"complaints": found})


async def read_complaint(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    async with request.app[SESSIONS]() as session:
        detail = await complaints.get(session, path_id(request, "complaint_id"))
    body = plain(detail.complaint)
    body["events"] = plain(detail.events)
    body["allowed"] = complaints.allowed_moves(detail.complaint.state, user.role)
    return json_response(body)


async def transition_complaint(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    body = parse(TransitionIn, await read_json(request))
    async with request.app[SESSIONS]() as session:
        complaint = await complaints.transition(
            session,
            user,
            path_id(request, "complaint_id"),
            body.to,
            note=body.note,
            resolution=body.resolution,
            compensation=body.compensation,
            policy=request.app[POLICY],
        )
    return json_response(complaint)


async def record_satisfaction(request: web.Request) -> web.Response:
    """An agent records the customer's answer given by phone."""
    await require_user(request, *STAFF)
    body = parse(SatisfactionIn, await read_json(request))
    complaint_id = path_id(request, "complaint_id")
    async with request.app[SESSIONS]() as session:
        current = (await complaints.get(session, complaint_id)).complaint
        complaint = await complaints.customer_satisfied(
            session, current.customer_id, complaint_id, body.satisfied, policy=request.app[POLICY]
        )
    return json_response(complaint)


async def list_surveys(request: web.Request) -> web.Response:
    await require_user(request, *STAFF)
    answered_raw = request.query.get("answered")
    answered = None if answered_raw in (None, "") else answered_raw.lower() in ("1", "true", "yes")
    async with request.app[SESSIONS]() as session:
        found = await surveys.list_surveys(
            session,
            customer_id=query_int(request, "customer_id", low=1),
            answered=answered,
            limit=min(query_int(request, "limit", low=1) or 100, 500),
        )
    return json_response({"surveys": found})


async def create_survey(request: web.Request) -> web.Response:
    await require_user(request, *SUPERVISORS)
    body = parse(SurveyIn, await read_json(request))
    async with request.app[SESSIONS]() as session:
        survey = await surveys.send_survey(
            session, customer_id=body.customer_id, kind=body.kind, trigger=body.trigger, channel=body.channel
        )
    return json_response(survey, status=201)


async def answer_survey(request: web.Request) -> web.Response:
    await require_user(request, *STAFF)
    body = parse(AnswerIn, await read_json(request))
    survey_id = path_id(request, "survey_id")
    async with request.app[SESSIONS]() as session:
        survey = await surveys.answer(session, survey_id, body.score, comment=body.comment)
    return json_response(survey)


async def satisfaction_report(request: web.Request) -> web.Response:
    await require_user(request, *SUPERVISORS)
    now = utcnow()
    start = query_moment(request, "from", now - timedelta(days=30))
    end = query_moment(request, "to", now)
    group_by = request.query.get("group_by") or None
    async with request.app[SESSIONS]() as session:
        rows = await reports.satisfaction(session, start, end, group_by)
    return json_response({"from": start, "to": end, "group_by": group_by, "rows": rows})


async def list_alerts(request: web.Request) -> web.Response:
    await require_user(request, *SUPERVISORS)
    async with request.app[SESSIONS]() as session:
        alerts = await complaints_repo.open_alerts(session)
    return json_response({"alerts": alerts})


async def complaints_section(session: AsyncSession, customer_id: int) -> Any:
    return await complaints.list_for_customer(session, customer_id)


async def surveys_section(session: AsyncSession, customer_id: int) -> Any:
    return await surveys.list_surveys(session, customer_id=customer_id, limit=20)


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}


_OK = {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}
_CREATED = {
    "201": {"description": "Created", "content": {"application/json": {"schema": {"type": "object"}}}}
}


_PAGING = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID}},
]

PATHS: dict[str, Any] = {
    "/complaints": {
        "post": {
            "summary": "Lodge a complaint",
            "requestBody": _body(ComplaintIn),
            "responses": {**_CREATED, **error_responses(400, 401, 403, 404)},
        },
        "get": {
            "summary": "List complaints (filters: state, customer_id, overdue)",
            "parameters": [
                *({"name": n, "in": "query", "schema": {"type": "string"}} for n in ("state", "overdue")),
                id_parameter("customer_id", "query"),
                *_PAGING,
            ],
            "responses": {**_OK, **error_responses(400, 401, 403)},
        },
    },
    "/complaints/{complaint_id}": {
        "get": {
            "summary": "A complaint with its event trail and the moves your role may make",
            "parameters": [id_parameter("complaint_id")],
            "responses": {**_OK, **error_responses(400, 401, 403, 404)},
        },
    },
    "/complaints/{complaint_id}/transition": {
        "post": {
            "summary": "Move a complaint to another state",
            "parameters": [id_parameter("complaint_id")],
            "requestBody": _body(TransitionIn),
            "responses": {**_OK, **error_responses(400, 401, 403, 404, 409)},
        },
    },
    "/complaints/{complaint_id}/satisfaction": {
        "post": {
            "summary": "Record the customer's answer: satisfied closes, not satisfied reopens",
            "parameters": [id_parameter("complaint_id")],
            "requestBody": _body(SatisfactionIn),
            "responses": {**_OK, **error_responses(400, 401, 403, 404, 409)},
        },
    },
    "/surveys": {
        "get": {
            "summary": "List surveys",
            "parameters": [
                id_parameter("customer_id", "query"),
                {"name": "answered", "in": "query", "schema": {"type": "string"}},
                _PAGING[0],
            ],
            "responses": {**_OK, **error_responses(400, 401, 403)},
        },
        "post": {
            "summary": "Send a CSAT or NPS survey to a customer",
            "requestBody": _body(SurveyIn),
            "responses": {**_CREATED, **error_responses(400, 401, 403)},
        },
    },
    "/surveys/{survey_id}/answer": {
        "post": {
            "summary": "Answer a survey (once)",
            "parameters": [id_parameter("survey_id")],
            "requestBody": _body(AnswerIn),
            "responses": {**_OK, **error_responses(400, 401, 404, 409)},
        },
    },
    "/reports/satisfaction": {
        "get": {
            "summary": "Satisfaction and complaint figures over a period",
            "parameters": [
                {"name": n, "in": "query", "schema": {"type": "string"}} for n in ("from", "to", "group_by")
            ],
            "responses": {**_OK, **error_responses(400, 401, 403)},
        },
    },
    "/alerts": {
        "get": {"summary": "Open supervisor alerts", "responses": {**_OK, **error_responses(401, 403)}}
    },
}


def setup(app: web.Application) -> None:
    from callcenter.api_customers import PROFILE_SECTIONS

    router = app.router
    router.add_post("/api/v1/complaints", create_complaint)
    router.add_get("/api/v1/complaints", list_complaints)
    router.add_get("/api/v1/complaints/{complaint_id}", read_complaint)
    router.add_post("/api/v1/complaints/{complaint_id}/transition", transition_complaint)
    router.add_post("/api/v1/complaints/{complaint_id}/satisfaction", record_satisfaction)
    router.add_get("/api/v1/surveys", list_surveys)
    router.add_post("/api/v1/surveys", create_survey)
    router.add_post("/api/v1/surveys/{survey_id}/answer", answer_survey)
    router.add_get("/api/v1/reports/satisfaction", satisfaction_report)
    router.add_get("/api/v1/alerts", list_alerts)
    app[OPENAPI].add(PATHS)
    app[PROFILE_SECTIONS]["complaints"] = complaints_section
    app[PROFILE_SECTIONS]["surveys"] = surveys_section
