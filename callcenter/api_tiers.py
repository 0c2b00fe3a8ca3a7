"""`GET /api/v1/tiers/proposals` and `POST /api/v1/tiers/proposals/{proposal_id}/approve|reject`
(one) or `POST /api/v1/tiers/proposals/decide` (many): the tier review's proposals, for
supervisors and admins (handlers/tiers/)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from callcenter.auth import require_user
from callcenter.keys import CLOCK, OPENAPI, SESSIONS
from callcenter.openapi import (
    error_responses,
    id_in_path,
    id_schema,
    json_body,
    json_ok,
    obj,
    query,
    returned,
)
from callcenter.params import Id, path_id, query_int
from callcenter.serialize import json_response, parse, read_json
from handlers.errors import InvalidInput
from handlers.roles import MANAGERS
from handlers.tiers import decisions, queries
from handlers.tiers.policy import TierPolicy
from storage.tier_proposals import ProposalRecord

TIER_POLICY = web.AppKey("tier_policy", TierPolicy)
STATES = ("pending", "approved", "applied", "rejected", "superseded")
DIRECTIONS = ("up", "down")


class DecisionIn(BaseModel):
    reason: str = Field(default="", max_length=500, description="why, kept with the decision")


class BulkIn(BaseModel):
    ids: list[Id] = Field(min_length=1, max_length=1000)
    decision: str = Field(json_schema_extra={"enum": list(decisions.DECISIONS)})
    reason: str = Field(default="", max_length=500)


def _choice(request: web.Request, name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    value = request.query.get(name, default or "")
    if value in ("", "all"):
        return None
    if value not in allowed:
        raise InvalidInput(f"unknown {name}", field=name, allowed=list(allowed))
    return value


async def list_proposals(request: web.Request) -> web.Response:
    await require_user(request, *MANAGERS)
    async with request.app[SESSIONS]() as session:
        found = await queries.proposals(
            session,
            state=_choice(request, "state", STATES, "pending"),
            direction=_choice(request, "direction", DIRECTIONS, None),
            after=query_int(request, "after") or 0,
            limit=min(query_int(request, "limit", low=1) or 100, 1000),
        )
    return json_response({"proposals": found})


async def _decide(request: web.Request, decision: str) -> web.Response:
    user = await require_user(request, *MANAGERS)
    body = parse(DecisionIn, await read_json(request))
    async with request.app[SESSIONS]() as session:
        done = await decisions.decide(
            session,
            user,
            path_id(request, "proposal_id"),
            decision,
            reason=body.reason,
            policy=request.app[TIER_POLICY],
            now=request.app[CLOCK](),
            via="api",
        )
    return json_response(done)


async def approve(request: web.Request) -> web.Response:
    return await _decide(request, "approve")


async def reject(request: web.Request) -> web.Response:
    return await _decide(request, "reject")


async def decide_many(request: web.Request) -> web.Response:
    user = await require_user(request, *MANAGERS)
    body = parse(BulkIn, await read_json(request))
    async with request.app[SESSIONS]() as session:
        outcome = await decisions.decide_many(
            session,
            user,
            body.ids,
            body.decision,
            reason=body.reason,
            policy=request.app[TIER_POLICY],
            now=request.app[CLOCK](),
            via="api",
        )
    refused = [{"id": key, "message": why} for key, why in sorted(outcome.refused.items())]
    return json_response({"decided": outcome.decided, "refused": refused})


_PROPOSAL = returned(ProposalRecord)
_ONE = {
    **json_ok(_PROPOSAL),
    **error_responses(400, 401, 403, 404, 409),
}
PATHS = {
    "/tiers/proposals": {
        "get": {
            "summary": "The tier review's proposals with the figures behind each, in id order "
            "(supervisors and admins); `state` defaults to pending, `all` lists every state",
            "parameters": [
                query("state", {"type": "string", "enum": [*STATES, "all"]}),
                query("direction", {"type": "string", "enum": [*DIRECTIONS, "all"]}),
                query("after", id_schema(), "the last id of the previous page"),
                query("limit", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}),
            ],
            "responses": {
                **json_ok(obj({"proposals": {"type": "array", "items": _PROPOSAL}})),
                **error_responses(400, 401, 403),
            },
        }
    },
    "/tiers/proposals/{proposal_id}/approve": {
        "post": {
            "summary": "Approve a pending proposal: an upgrade takes effect at once, a downgrade "
            "after the configured days, the customer told before (409 when no longer pending, or "
            "when an upgrade would break its tier's quota)",
            "parameters": [id_in_path("proposal_id")],
            "requestBody": json_body(DecisionIn),
            "responses": _ONE,
        }
    },
    "/tiers/proposals/{proposal_id}/reject": {
        "post": {
            "summary": "Reject a pending proposal; the customer keeps their tier",
            "parameters": [id_in_path("proposal_id")],
            "requestBody": json_body(DecisionIn),
            "responses": _ONE,
        }
    },
    "/tiers/proposals/decide": {
        "post": {
            "summary": "Approve or reject many proposals at once; each is decided on its own and "
            "those refused are listed with the reason",
            "requestBody": json_body(BulkIn),
            "responses": {
                **json_ok(
                    obj(
                        {
                            "decided": {"type": "array", "items": id_schema()},
                            "refused": {
                                "type": "array",
                                "items": obj({"id": id_schema(), "message": {"type": "string"}}),
                            },
                        }
                    )
                ),
                **error_responses(400, 401, 403),
            },
        }
    },
}


def setup(app: web.Application, policy: TierPolicy) -> None:
    from callcenter.api_customers import PROFILE_SECTIONS

    app[TIER_POLICY] = policy
    app.router.add_get("/api/v1/tiers/proposals", list_proposals)
    app.router.add_post("/api/v1/tiers/proposals/decide", decide_many)
    app.router.add_post(r"/api/v1/tiers/proposals/{proposal_id}/approve", approve)
    app.router.add_post(r"/api/v1/tiers/proposals/{proposal_id}/reject", reject)
    app[OPENAPI].add(PATHS)
    app[PROFILE_SECTIONS]["tier_proposals"] = queries.customer_proposals
