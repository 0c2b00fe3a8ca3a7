"""`/api/v1/complaints`, `/api/v1/surveys`, `/api/v1/reports/satisfaction` (alerts:
callcenter/api_alerts.py)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.auth import require_user
from callcenter.complaints_setup import POLICY
from callcenter.keys import OPENAPI, REPORT_SESSIONS, SESSIONS
from callcenter.openapi import (
    error_responses,
    id_in_path,
    id_schema,
    json_body,
    json_ok,
    nullable,
    obj,
    query,
    returned,
)
from callcenter.params import Id, OptionalId, path_id, query_int, query_moment
from callcenter.serialize import json_response, parse, plain, read_json
from handlers import complaints, reports, surveys
from handlers.errors import InvalidInput
from handlers.inputs import MAX_ID
from handlers.roles import MANAGERS, STAFF
from storage.audit import Actor
from storage.complaints import ComplaintView, EventView
from storage.models.base import utcnow
from storage.surveys import SurveyView


class ComplaintIn(BaseModel):
    customer_id: Id
    category: str
    description: str = Field(max_length=4000)
    severity: str = Field(default="standard", json_schema_extra={"enum": list(complaints.SEVERITIES)})
    channel: str = Field(default="api", json_schema_extra={"enum": list(complaints.CHANNELS)})
    attachments: list[str] = Field(default_factory=list, max_length=10)


class TransitionIn(BaseModel):
    to: str = Field(json_schema_extra={"enum": list(complaints.STATES)})
    note: str | None = Field(default=None, max_length=2000)
    resolution: str | None = Field(default=None, max_length=4000)
    compensation: str | None = Field(default=None, max_length=500)
    compensation_amount: Decimal | None = Field(
        default=None,
        ge=0,
        max_digits=12,
        decimal_places=2,
        description="what the compensation is worth; above the operator's limit an agent's "
        "resolution waits for a supervisor's approval",
    )


class ApprovalIn(BaseModel):
    decision: str = Field(json_schema_extra={"enum": list(complaints.DECISIONS)})
    reason: str | None = Field(default=None, max_length=2000, description="required to reject")


class SatisfactionIn(BaseModel):
    satisfied: bool


class SurveyIn(BaseModel):
    customer_id: Id
    kind: str = Field(json_schema_extra={"enum": list(surveys.KINDS)})
    trigger: str = Field(default="periodic", json_schema_extra={"enum": list(surveys.TRIGGERS)})
    channel: str = "telegram"
    questionnaire_id: OptionalId = Field(default=None, description="for kind quest: the questionnaire to ask")


class AnswerIn(BaseModel):
    score: int = Field(json_schema_extra={"minimum": 0, "maximum": 10, "description": "CSAT 1-5, NPS 0-10"})
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
    user = await require_user(request, *STAFF)
    states = [s for s in request.query.getall("state", []) if s]
    for state in states:
        if state not in complaints.STATES:
            raise InvalidInput("unknown state", field="state", allowed=list(complaints.STATES))
    overdue = request.query.get("overdue", "").lower() in ("1", "true", "yes")
    limit = min(query_int(request, "limit", low=1) or 100, 500)
    async with request.app[SESSIONS]() as session:
        found = await complaints.search(
            session,
            Actor.of(user, "api"),
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
        detail = await complaints.read(session, Actor.of(user, "api"), path_id(request, "complaint_id"))
    body = plain(detail.complaint)
    body["events"] = plain(detail.events)
    body["allowed"] = complaints.moves_for(detail.complaint, user.role)
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
            compensation_amount=body.compensation_amount,
            policy=request.app[POLICY],
        )
    return json_response(complaint)


async def decide_approval(request: web.Request) -> web.Response:
    """A supervisor approves or rejects a compensation waiting for approval."""
    user = await require_user(request, *MANAGERS)
    body = parse(ApprovalIn, await read_json(request))
    async with request.app[SESSIONS]() as session:
        complaint = await complaints.decide(
            session,
            user,
            "api",
            path_id(request, "complaint_id"),
            body.decision,
            reason=body.reason,
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
    user = await require_user(request, *STAFF)
    answered_raw = request.query.get("answered")
    answered = None if answered_raw in (None, "") else answered_raw.lower() in ("1", "true", "yes")
    async with request.app[SESSIONS]() as session:
        found = await surveys.read_surveys(
            session,
            Actor.of(user, "api"),
            customer_id=query_int(request, "customer_id", low=1),
            answered=answered,
            limit=min(query_int(request, "limit", low=1) or 100, 500),
        )
    return json_response({"surveys": found})


async def create_survey(request: web.Request) -> web.Response:
    await require_user(request, *MANAGERS)
    body = parse(SurveyIn, await read_json(request))
    async with request.app[SESSIONS]() as session:
        survey = await surveys.send_survey(
            session,
            customer_id=body.customer_id,
            kind=body.kind,
            trigger=body.trigger,
            channel=body.channel,
            questionnaire_id=body.questionnaire_id,
        )
    return json_response(survey, status=201)


async def answer_survey(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    body = parse(AnswerIn, await read_json(request))
    survey_id = path_id(request, "survey_id")
    async with request.app[SESSIONS]() as session:
        survey = await surveys.answer_for_customer(session, user, survey_id, body.score, comment=body.comment)
    return json_response(survey)


async def satisfaction_report(request: web.Request) -> web.Response:
    await require_user(request, *MANAGERS)
    now = utcnow()
    start = query_moment(request, "from", now - timedelta(days=30))
    end = query_moment(request, "to", now)
    group_by = request.query.get("group_by") or None
    async with request.app[REPORT_SESSIONS]() as session:
        rows = await reports.satisfaction(session, start, end, group_by)
    return json_response({"from": start, "to": end, "group_by": group_by, "rows": rows})


async def complaints_section(session: AsyncSession, customer_id: int) -> Any:
    return await complaints.list_for_customer(session, customer_id)


async def surveys_section(session: AsyncSession, customer_id: int) -> Any:
    return await surveys.list_surveys(session, customer_id=customer_id, limit=20)


_COMPLAINT = returned(ComplaintView)
_SURVEY = returned(SurveyView)
_LIMIT = {"type": "integer", "minimum": 1, "maximum": MAX_ID, "description": "at most 500 (default 100)"}


def _list_of(name: str, items: dict[str, Any]) -> dict[str, Any]:
    return json_ok(obj({name: {"type": "array", "items": items}}))


PATHS: dict[str, Any] = {
    "/complaints": {
        "post": {
            "summary": "Lodge a complaint",
            "requestBody": json_body(ComplaintIn),
            "responses": {**json_ok(_COMPLAINT, 201, "Created"), **error_responses(400, 401, 404)},
        },
        "get": {
            "summary": "List complaints (filters: state, customer_id, overdue); audited per customer",
            "parameters": [
                query(
                    "state", {"type": "array", "items": {"type": "string", "enum": list(complaints.STATES)}}
                ),
                query("customer_id", id_schema()),
                query("overdue", {"type": "boolean"}),
                query("limit", _LIMIT),
                query("offset", {"type": "integer", "minimum": 0, "maximum": MAX_ID}),
            ],
            "responses": {**_list_of("complaints", _COMPLAINT), **error_responses(400, 401)},
        },
    },
    "/complaints/{complaint_id}": {
        "get": {
            "summary": "A complaint with its event trail and the moves your role may make (audited)",
            "parameters": [id_in_path("complaint_id")],
            "responses": {
                **json_ok(
                    {
                        "allOf": [_COMPLAINT],
                        **obj(
                            {
                                "events": {"type": "array", "items": returned(EventView)},
                                "allowed": {"type": "array", "items": {"type": "string"}},
                            }
                        ),
                    }
                ),
                **error_responses(400, 401, 404),
            },
        },
    },
    "/complaints/{complaint_id}/transition": {
        "post": {
            "summary": "Move a complaint to another state",
            "parameters": [id_in_path("complaint_id")],
            "requestBody": json_body(TransitionIn),
            "responses": {**json_ok(_COMPLAINT), **error_responses(400, 401, 403, 404, 409)},
        },
    },
    "/complaints/{complaint_id}/approval": {
        "post": {
            "summary": "Approve or reject a compensation waiting for approval (supervisors and admins)",
            "parameters": [id_in_path("complaint_id")],
            "requestBody": json_body(ApprovalIn),
            "responses": {**json_ok(_COMPLAINT), **error_responses(400, 401, 403, 404, 409)},
        },
    },
    "/complaints/{complaint_id}/satisfaction": {
        "post": {
            "summary": "Record the customer's answer: satisfied closes, not satisfied reopens",
            "parameters": [id_in_path("complaint_id")],
            "requestBody": json_body(SatisfactionIn),
            "responses": {**json_ok(_COMPLAINT), **error_responses(400, 401, 404, 409)},
        },
    },
    "/surveys": {
        "get": {
            "summary": "List surveys (filters: customer_id, answered, limit); audited per customer",
            "parameters": [
                query("customer_id", id_schema()),
                query("answered", {"type": "boolean"}),
                query("limit", _LIMIT),
            ],
            "responses": {**_list_of("surveys", _SURVEY), **error_responses(400, 401)},
        },
        "post": {
            "summary": "Send a CSAT or NPS survey to a customer (supervisors and admins)",
            "requestBody": json_body(SurveyIn),
            "responses": {**json_ok(_SURVEY, 201, "Created"), **error_responses(400, 401, 403, 404)},
        },
    },
    "/surveys/{survey_id}/answer": {
        "post": {
            "summary": "Answer a survey (once; not one that rates yourself)",
            "parameters": [id_in_path("survey_id")],
            "requestBody": json_body(AnswerIn),
            "responses": {**json_ok(_SURVEY), **error_responses(400, 401, 403, 404, 409)},
        },
    },
    "/reports/satisfaction": {
        "get": {
            "summary": "Satisfaction and complaint figures over a period (supervisors and admins)",
            "parameters": [
                query("from", {"type": "string", "format": "date-time"}, "default: 30 days ago"),
                query("to", {"type": "string", "format": "date-time"}, "default: now"),
                query("group_by", {"type": "string", "enum": list(reports.GROUPS)}),
            ],
            "responses": {
                **json_ok(
                    obj(
                        {
                            "from": {"type": "string", "format": "date-time"},
                            "to": {"type": "string", "format": "date-time"},
                            "group_by": nullable({"type": "string"}),
                            "rows": {"type": "array", "items": returned(reports.ReportRow)},
                        }
                    )
                ),
                **error_responses(400, 401, 403),
            },
        },
    },
}


def setup(app: web.Application) -> None:
    from callcenter.api_customers import PROFILE_SECTIONS

    router = app.router
    router.add_post("/api/v1/complaints", create_complaint)
    router.add_get("/api/v1/complaints", list_complaints)
    router.add_get("/api/v1/complaints/{complaint_id}", read_complaint)
    router.add_post("/api/v1/complaints/{complaint_id}/transition", transition_complaint)
    router.add_post("/api/v1/complaints/{complaint_id}/approval", decide_approval)
    router.add_post("/api/v1/complaints/{complaint_id}/satisfaction", record_satisfaction)
    router.add_get("/api/v1/surveys", list_surveys)
    router.add_post("/api/v1/surveys", create_survey)
    router.add_post("/api/v1/surveys/{survey_id}/answer", answer_survey)
    router.add_get("/api/v1/reports/satisfaction", satisfaction_report)
    app[OPENAPI].add(PATHS)
    app[PROFILE_SECTIONS]["complaints"] = complaints_section
    app[PROFILE_SECTIONS]["surveys"] = surveys_section
