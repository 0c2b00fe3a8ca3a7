"""`/api/v1/campaigns` and `/api/v1/dialer/*`."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from callcenter.api_customers import PROFILE_SECTIONS
from callcenter.auth import require_user
from callcenter.keys import OPENAPI, SESSIONS
from callcenter.openapi import (
    CTI_SECURITY,
    error_responses,
    id_in_path,
    id_schema,
    json_body,
    json_ok,
    nullable,
    obj,
    returned,
)
from callcenter.params import Id, Moment, OptionalId, path_id
from callcenter.serialize import json_response, parse, read_json
from callcenter.telephony_cti import authorised
from callcenter.web_errors import json_error
from handlers import campaigns
from handlers.campaigns import CampaignSpec, Policy, customer_history
from handlers.roles import MANAGERS
from storage.audit import Actor
from storage.campaigns.views import CampaignView

POLICY = web.AppKey("campaign_policy", Policy)


class ScheduleIn(BaseModel):
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    hour_from: int = Field(default=9, ge=0, le=23)
    hour_to: int = Field(default=20, ge=1, le=24)
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4, 5, 6])
    rate_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)
    recurrence_days: int | None = Field(default=None, ge=1, le=3660)


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(json_schema_extra={"enum": list(campaigns.KINDS)})
    channel: str = Field(default="telegram", json_schema_extra={"enum": list(campaigns.CHANNELS)})
    messages: dict[str, str] = Field(default_factory=dict)
    survey_kind: str | None = Field(default=None, description="for satisfaction: csat, nps or quest")
    questionnaire_id: OptionalId = Field(default=None, description="for survey_kind quest: the questionnaire")
    offer_code: str | None = None
    audience: dict[str, Any] = Field(default_factory=dict)
    schedule: ScheduleIn = Field(default_factory=ScheduleIn)
    start: bool = Field(default=True, description="schedule it now (false: save a draft)")


class AudienceIn(BaseModel):
    kind: str = Field(default="follow_up", json_schema_extra={"enum": list(campaigns.KINDS)})
    audience: dict[str, Any] = Field(default_factory=dict)


class DialResultIn(BaseModel):
    target_id: Id
    outcome: str = Field(json_schema_extra={"enum": list(campaigns.DIAL_OUTCOMES)})
    note: str | None = Field(default=None, max_length=500)


async def campaign_body(request: web.Request, campaign_id: int) -> dict[str, Any]:
    async with request.app[SESSIONS]() as session:
        campaign = await campaigns.get(session, campaign_id)
        progress = await campaigns.progress(session, campaign_id)
    return {"campaign": campaign, "progress": progress}


async def count_audience(request: web.Request) -> web.Response:
    await require_user(request, *MANAGERS)
    body = parse(AudienceIn, await read_json(request))
    async with request.app[SESSIONS]() as session:
        count = await campaigns.count_audience(session, body.kind, body.audience)
    return json_response({"count": count})


async def create_campaign(request: web.Request) -> web.Response:
    user = await require_user(request, *MANAGERS)
    body = parse(CampaignIn, await read_json(request))
    spec = CampaignSpec(
        name=body.name,
        kind=body.kind,
        channel=body.channel,
        messages=body.messages,
        survey_kind=body.survey_kind,
        questionnaire_id=body.questionnaire_id,
        offer_code=body.offer_code,
        audience=body.audience,
        starts_at=body.schedule.starts_at,
        ends_at=body.schedule.ends_at,
        hour_from=body.schedule.hour_from,
        hour_to=body.schedule.hour_to,
        weekdays=tuple(body.schedule.weekdays),
        rate_per_minute=body.schedule.rate_per_minute,
        recurrence_days=body.schedule.recurrence_days,
    )
    async with request.app[SESSIONS]() as session:
        campaign = await campaigns.create(session, spec, created_by=user.id, schedule=body.start)
    return json_response(await campaign_body(request, campaign.id), status=201)


async def list_campaigns(request: web.Request) -> web.Response:
    await require_user(request, *MANAGERS)
    async with request.app[SESSIONS]() as session:
        found = await campaigns.list_all(session)
        progress = await campaigns.progress_of(session, found)
        rows = [{"campaign": c, "progress": progress[c.id]} for c in found]
    return json_response({"campaigns": rows})


async def read_campaign(request: web.Request) -> web.Response:
    await require_user(request, *MANAGERS)
    return json_response(await campaign_body(request, path_id(request, "campaign_id")))


async def campaign_action(request: web.Request) -> web.Response:
    await require_user(request, *MANAGERS)
    action = request.match_info["action"]
    campaign_id = path_id(request, "campaign_id")
    async with request.app[SESSIONS]() as session:
        await campaigns.act(session, campaign_id, action)
    return json_response(await campaign_body(request, campaign_id))


async def preview_campaign(request: web.Request) -> web.Response:
    user = await require_user(request, *MANAGERS)
    async with request.app[SESSIONS]() as session:
        samples = await campaigns.preview(session, Actor.of(user, "api"), path_id(request, "campaign_id"))
    return json_response({"samples": samples})


async def dialer_next(request: web.Request) -> web.Response:
    if not authorised(request):
        return json_error(401, "unauthorized", "the dialer needs the telephony token (CONTACTDESK_CTI_TOKEN)")
    call = await campaigns.next_dial(request.app[SESSIONS], request.app[POLICY])
    if call is None:
        return web.Response(status=204)
    return json_response(call)


async def dialer_result(request: web.Request) -> web.Response:
    if not authorised(request):
        return json_error(401, "unauthorized", "the dialer needs the telephony token (CONTACTDESK_CTI_TOKEN)")
    body = parse(DialResultIn, await read_json(request))
    async with request.app[SESSIONS]() as session:
        result = await campaigns.dial_result(session, body.target_id, body.outcome, note=body.note)
    return json_response(result)


_CAMPAIGN = obj(
    {"campaign": returned(CampaignView), "progress": {"type": "object", "description": "counts by outcome"}}
)
_ID = id_in_path("campaign_id")

PATHS: dict[str, Any] = {
    "/campaigns": {
        "get": {
            "summary": "Campaigns with their progress",
            "responses": {
                **json_ok(obj({"campaigns": {"type": "array", "items": _CAMPAIGN}})),
                **error_responses(401, 403),
            },
        },
        "post": {
            "summary": "Create a campaign (scheduled unless start is false)",
            "requestBody": json_body(CampaignIn),
            "responses": {**json_ok(_CAMPAIGN, 201, "Created"), **error_responses(400, 401, 403)},
        },
    },
    "/campaigns/audience": {
        "post": {
            "summary": "Count an audience before starting a campaign",
            "requestBody": json_body(AudienceIn),
            "responses": {
                **json_ok(obj({"count": {"type": "integer", "minimum": 0}})),
                **error_responses(400, 401, 403),
            },
        }
    },
    "/campaigns/{campaign_id}": {
        "get": {
            "summary": "A campaign and its progress: counts by outcome, rate, estimated finish, responses",
            "parameters": [_ID],
            "responses": {**json_ok(_CAMPAIGN), **error_responses(400, 401, 403, 404)},
        }
    },
    "/campaigns/{campaign_id}/preview": {
        "get": {
            "summary": "The message rendered for sample customers of the audience (audited per customer)",
            "parameters": [_ID],
            "responses": {
                **json_ok(
                    obj(
                        {
                            "samples": {
                                "type": "array",
                                "items": obj(
                                    {
                                        "customer": {"type": "string"},
                                        "language": nullable({"type": "string"}),
                                        "texts": {
                                            "type": "object",
                                            "additionalProperties": {"type": "string"},
                                        },
                                    }
                                ),
                            }
                        }
                    )
                ),
                **error_responses(400, 401, 403, 404),
            },
        }
    },
    **{
        f"/campaigns/{{campaign_id}}/{action}": {
            "post": {
                "summary": f"{action.capitalize()} the campaign",
                "parameters": [_ID],
                "responses": {**json_ok(_CAMPAIGN), **error_responses(400, 401, 403, 404, 409)},
            }
        }
        for action in campaigns.MOVES
    },
    "/dialer/next": {
        "get": {
            "summary": "The next customer for the PBX to call (204: nobody due); the telephony token",
            "security": CTI_SECURITY,
            "responses": {
                **json_ok(
                    obj(
                        {
                            "target_id": id_schema(),
                            "campaign_id": id_schema(),
                            "campaign": {"type": "string"},
                            "kind": {"type": "string", "enum": list(campaigns.KINDS)},
                            "phone": nullable({"type": "string"}),
                            "customer_id": id_schema(),
                            "language": {"type": "string"},
                            "script": {"type": "string"},
                            "survey_id": nullable(id_schema()),
                            "answer_url": nullable({"type": "string"}),
                            "lease_seconds": {"type": "integer"},
                        }
                    )
                ),
                "204": {"description": "nobody to call now"},
                **error_responses(401),
            },
        }
    },
    "/dialer/results": {
        "post": {
            "summary": "The outcome of a dialer call; a repeated report changes nothing",
            "security": CTI_SECURITY,
            "requestBody": json_body(DialResultIn),
            "responses": {
                **json_ok(
                    obj(
                        {
                            "target_id": id_schema(),
                            "status": {"type": "string"},
                            "repeat": {"type": "boolean"},
                        }
                    )
                ),
                **error_responses(400, 401, 404, 409),
            },
        }
    },
}


def setup(app: web.Application, policy: Policy) -> None:
    app[POLICY] = policy  # built once by the composition root (the dialer and the worker share it)
    router = app.router
    router.add_get("/api/v1/campaigns", list_campaigns)
    router.add_post("/api/v1/campaigns", create_campaign)
    router.add_post("/api/v1/campaigns/audience", count_audience)
    # Digits only, so that GET /campaigns/audience is a 405, not a campaign called "audience".
    router.add_get(r"/api/v1/campaigns/{campaign_id:\d+}", read_campaign)
    router.add_get(r"/api/v1/campaigns/{campaign_id:\d+}/preview", preview_campaign)
    router.add_post(
        r"/api/v1/campaigns/{campaign_id:\d+}/{action:schedule|pause|resume|cancel}", campaign_action
    )
    router.add_get("/api/v1/dialer/next", dialer_next)
    router.add_post("/api/v1/dialer/results", dialer_result)
    app[OPENAPI].add(PATHS)
    app[PROFILE_SECTIONS]["campaign_messages"] = customer_history.messages_to
    app[PROFILE_SECTIONS]["offers_accepted"] = customer_history.offers_accepted_by
