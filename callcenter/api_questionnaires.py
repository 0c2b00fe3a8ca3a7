"""`/api/v1/questionnaires` (define, list, read) and `GET /api/v1/reports/questionnaires/{id}`
(per question and per segment, as JSON or CSV): supervisors and admins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from callcenter.auth import require_user
from callcenter.keys import OPENAPI, REPORT_SESSIONS, SESSIONS
from callcenter.openapi import error_responses, id_in_path, json_body, json_ok, obj, query
from callcenter.params import path_id, query_moment
from callcenter.serialize import json_response, parse, read_json
from handlers import questionnaires
from handlers.errors import InvalidInput
from handlers.questionnaires import QuestionnaireSpec
from handlers.roles import MANAGERS
from storage.questionnaires import QuestionnaireView
from templates import LANGUAGES

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class QuestionIn(BaseModel):
    kind: str = Field(json_schema_extra={"enum": list(questionnaires.KINDS)})
    text: dict[str, str] = Field(description="the question in each language (zh, en)")
    choices: list[dict[str, str]] = Field(default_factory=list, description="a choice's options")


class QuestionnaireIn(BaseModel):
    title: dict[str, str] = Field(description="the title in each language (zh, en)")
    questions: list[QuestionIn] = Field(min_length=1, max_length=questionnaires.MAX_QUESTIONS)


def questionnaire_json(found: QuestionnaireView) -> dict[str, Any]:
    return {
        "id": found.id,
        "key": found.key,
        "title": found.title,
        "created_at": found.created_at,
        "questions": [
            {"id": q.id, "position": q.position, "kind": q.kind, "text": q.text, "choices": list(q.choices)}
            for q in found.questions
        ],
    }


async def list_questionnaires(request: web.Request) -> web.Response:
    await require_user(request, *MANAGERS)
    async with request.app[SESSIONS]() as session:
        await questionnaires.ensure_templates(session)
        found = await questionnaires.list_all(session)
    return json_response({"questionnaires": [questionnaire_json(q) for q in found]})


async def create_questionnaire(request: web.Request) -> web.Response:
    user = await require_user(request, *MANAGERS)
    body = parse(QuestionnaireIn, await read_json(request))
    spec = QuestionnaireSpec(title=body.title, questions=[q.model_dump() for q in body.questions])
    async with request.app[SESSIONS]() as session:
        created = await questionnaires.create(session, spec, created_by=user.id)
    return json_response(questionnaire_json(created), status=201)


async def read_questionnaire(request: web.Request) -> web.Response:
    await require_user(request, *MANAGERS)
    questionnaire_id = path_id(request, "questionnaire_id")
    async with request.app[SESSIONS]() as session:
        found = await questionnaires.get(session, questionnaire_id)
    return json_response(questionnaire_json(found))


def _optional_moment(request: web.Request, name: str) -> datetime | None:
    return query_moment(request, name, EPOCH) if request.query.get(name) else None


async def report(request: web.Request) -> web.Response:
    await require_user(request, *MANAGERS)
    questionnaire_id = path_id(request, "questionnaire_id")
    start, end = _optional_moment(request, "from"), _optional_moment(request, "to")
    wanted = request.query.get("format", "json")
    language = request.query.get("lang", "en")
    if wanted not in ("json", "csv"):
        raise InvalidInput("format is json or csv", field="format", allowed=["json", "csv"])
    if language not in LANGUAGES:
        raise InvalidInput("unknown language", field="lang", allowed=list(LANGUAGES))
    async with request.app[REPORT_SESSIONS]() as session:
        found = await questionnaires.report(session, questionnaire_id, start=start, end=end)
    if wanted == "json":
        return json_response(found)
    return csv_response(questionnaires.report_csv(found, language), f"questionnaire-{questionnaire_id}.csv")


def csv_response(text: str, filename: str) -> web.Response:
    # A byte-order mark: spreadsheet programs then read the Chinese text as UTF-8.
    return web.Response(
        body=("\ufeff" + text).encode(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


_FIGURES = {
    "answers": {"type": "integer"},
    "skipped": {"type": "integer"},
    "mean": {"anyOf": [{"type": "number"}, {"type": "null"}]},
    "nps": {"anyOf": [{"type": "number"}, {"type": "null"}]},
    "distribution": {"type": "object", "additionalProperties": {"type": "integer"}},
}
_QUESTIONNAIRE = obj(
    {
        "id": {"type": "integer"},
        "key": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "title": {"type": "object"},
        "created_at": {"type": "string", "format": "date-time"},
        "questions": {"type": "array", "items": {"type": "object"}},
    }
)
_REPORT = obj(
    {
        "questionnaire": {"type": "object"},
        "from": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        "to": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        "surveys": obj(
            {"sent": {"type": "integer"}, "started": {"type": "integer"}, "finished": {"type": "integer"}}
        ),
        "questions": {"type": "array", "items": obj({"id": {"type": "integer"}, **_FIGURES})},
        "segments": {
            "type": "object",
            "description": "by tier, region and channel: each segment's figures per question",
            "additionalProperties": {"type": "array", "items": {"type": "object"}},
        },
    }
)
PATHS: dict[str, Any] = {
    "/questionnaires": {
        "get": {
            "summary": "The questionnaires, the shipped yearly survey among them (supervisors and admins)",
            "responses": {
                **json_ok(obj({"questionnaires": {"type": "array", "items": _QUESTIONNAIRE}})),
                **error_responses(401, 403),
            },
        },
        "post": {
            "summary": "Define a questionnaire: 1–5 and 0–10 scales, single choices, free text",
            "requestBody": json_body(QuestionnaireIn),
            "responses": {**json_ok(_QUESTIONNAIRE, 201, "Created"), **error_responses(400, 401, 403)},
        },
    },
    "/questionnaires/{questionnaire_id}": {
        "get": {
            "summary": "A questionnaire and its questions",
            "parameters": [id_in_path("questionnaire_id")],
            "responses": {**json_ok(_QUESTIONNAIRE), **error_responses(400, 401, 403, 404)},
        }
    },
    "/reports/questionnaires/{questionnaire_id}": {
        "get": {
            "summary": "A questionnaire's answers per question and per segment (tier, region, channel); "
            "format=csv for a spreadsheet (supervisors and admins)",
            "parameters": [
                id_in_path("questionnaire_id"),
                query("from", {"type": "string", "format": "date-time"}, "answers given from (default: all)"),
                query("to", {"type": "string", "format": "date-time"}, "answers given before"),
                query("format", {"type": "string", "enum": ["json", "csv"]}),
                query("lang", {"type": "string", "enum": list(LANGUAGES)}, "the CSV's question texts"),
            ],
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {
                        "application/json": {"schema": _REPORT},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **error_responses(400, 401, 403, 404),
            },
        }
    },
}


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/questionnaires", list_questionnaires)
    app.router.add_post("/api/v1/questionnaires", create_questionnaire)
    app.router.add_get("/api/v1/questionnaires/{questionnaire_id}", read_questionnaire)
    app.router.add_get("/api/v1/reports/questionnaires/{questionnaire_id}", report)
    app[OPENAPI].add(PATHS)
