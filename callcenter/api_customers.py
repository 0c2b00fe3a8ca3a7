"""`/api/v1/customers`: find by any phone spelling, read a profile, create, change tier/blacklist."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.auth import require_user
from callcenter.keys import OPENAPI, SESSIONS, SETTINGS
from callcenter.openapi import error_responses, id_in_path, json_body, json_ok, obj, returned
from callcenter.params import Id, path_id
from callcenter.serialize import json_response, parse, plain, read_json
from callcenter.settings import tier_limits
from handlers import customers, identities
from handlers.customers import Amendment, NewCustomer
from handlers.errors import InvalidInput
from handlers.roles import AGENT, MANAGERS, STAFF
from storage.customers import CustomerRecord

# Features that keep customer history (complaints, contacts, surveys) add a section
# to the profile here; each gets the session and the customer id.
ProfileSection = Callable[[AsyncSession, int], Awaitable[Any]]
PROFILE_SECTIONS = web.AppKey("profile_sections", dict[str, ProfileSection])


class CustomerIn(BaseModel):
    name: str = Field(default="", max_length=200)
    phones: list[str] = Field(default_factory=list, max_length=10)
    email: str | None = None
    telegram_id: str | None = None
    tier: str = Field(default="regular", json_schema_extra={"enum": list(customers.TIERS)})
    language: str | None = Field(default=None, max_length=16)
    region: str | None = Field(default=None, max_length=64)
    timezone: str | None = Field(default=None, max_length=64)
    attributes: dict[str, Any] = Field(default_factory=dict)


class CustomerPatch(BaseModel):
    tier: str | None = Field(default=None, json_schema_extra={"enum": [*customers.TIERS, None]})
    blacklisted: bool | None = None
    reason: str = ""
    force: bool = False


class IdentityIn(BaseModel):
    kind: str = Field(json_schema_extra={"enum": list(identities.KINDS)})
    value: str


class MergeIn(BaseModel):
    source_id: Id


async def profile_sections(app: web.Application, session: AsyncSession, customer_id: int) -> dict[str, Any]:
    """A profile's history, section by section, as each feature reads it: the one source of
    the profile for the API and the console's page."""
    return {name: await section(session, customer_id) for name, section in app[PROFILE_SECTIONS].items()}


async def _profile(request: web.Request, session: AsyncSession, record: CustomerRecord) -> Any:
    sections = await profile_sections(request.app, session, record.id)
    return plain(record) | plain(sections)


async def find_customers(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    phone = request.query.get("phone", "").strip()
    if not phone:
        raise InvalidInput("give ?phone= (any national or international format)", field="phone")
    async with request.app[SESSIONS]() as session:
        record = await customers.find_by_phone(
            session, user, phone, region=request.app[SETTINGS].default_region
        )
        found = [] if record is None else [await _profile(request, session, record)]
    return json_response({"customers": found})


async def get_customer(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    async with request.app[SESSIONS]() as session:
        record = await customers.get_profile(session, user, path_id(request, "customer_id"), via="api")
        return json_response(await _profile(request, session, record))


async def create_customer(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    body = parse(CustomerIn, await read_json(request))
    new = NewCustomer(
        name=body.name,
        phones=tuple(body.phones),
        email=body.email,
        telegram_id=body.telegram_id,
        tier=body.tier,
        language=body.language,
        region=body.region,
        timezone=body.timezone,
        attributes=body.attributes,
    )
    if new.tier != "regular" and user.role == AGENT:
        raise web.HTTPForbidden(
            text='{"error": "forbidden", "message": "only supervisors and admins set a tier"}',
            content_type="application/json",
        )
    async with request.app[SESSIONS]() as session:
        record = await customers.create_customer(
            session, user, new, region=request.app[SETTINGS].default_region
        )
    return json_response(record, status=201)


async def patch_customer(request: web.Request) -> web.Response:
    user = await require_user(request, *MANAGERS)
    body = parse(CustomerPatch, await read_json(request))
    change = Amendment(tier=body.tier, blacklisted=body.blacklisted, reason=body.reason, force=body.force)
    async with request.app[SESSIONS]() as session:
        record = await customers.amend(
            session,
            user,
            path_id(request, "customer_id"),
            change,
            limits=tier_limits(request.app[SETTINGS]),
            via="api",
        )
    return json_response(record)


async def link_identity(request: web.Request) -> web.Response:
    user = await require_user(request, *MANAGERS)
    body = parse(IdentityIn, await read_json(request))
    async with request.app[SESSIONS]() as session:
        record = await customers.link_identity(
            session,
            user,
            path_id(request, "customer_id"),
            body.kind,
            body.value,
            region=request.app[SETTINGS].default_region,
        )
    return json_response(record)


async def merge_customer(request: web.Request) -> web.Response:
    user = await require_user(request, *MANAGERS)
    body = parse(MergeIn, await read_json(request))
    target_id = path_id(request, "customer_id")
    async with request.app[SESSIONS]() as session:
        record = await customers.merge_customers(session, user, body.source_id, target_id)
    return json_response(record)


_RECORD = returned(CustomerRecord)
_PROFILE = {
    "allOf": [_RECORD],
    "description": "the record, plus one list per history section (complaints, surveys, ...)",
}
_ID = id_in_path("customer_id")

PATHS: dict[str, Any] = {
    "/customers": {
        "get": {
            "summary": "Find a customer by phone number in any format (audited)",
            "parameters": [
                {
                    "name": "phone",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1},
                }
            ],
            "responses": {
                **json_ok(obj({"customers": {"type": "array", "items": _PROFILE, "maxItems": 1}})),
                **error_responses(400, 401),
            },
        },
        "post": {
            "summary": "Create a customer (a tier other than regular: supervisors and admins)",
            "requestBody": json_body(CustomerIn),
            "responses": {**json_ok(_RECORD, 201, "Created"), **error_responses(400, 401, 403, 409)},
        },
    },
    "/customers/{customer_id}": {
        "get": {
            "summary": "A customer's profile (audited): identities, tier, holdings and history",
            "parameters": [_ID],
            "responses": {**json_ok(_PROFILE), **error_responses(400, 401, 404)},
        },
        "patch": {
            "summary": "Change tier or blacklist (supervisors and admins)",
            "parameters": [_ID],
            "requestBody": json_body(CustomerPatch),
            "responses": {**json_ok(_RECORD), **error_responses(400, 401, 403, 404, 409)},
        },
    },
    "/customers/{customer_id}/identities": {
        "post": {
            "summary": "Link a phone, Telegram id or e-mail to the customer (supervisors, admins; audited)",
            "parameters": [_ID],
            "requestBody": json_body(IdentityIn),
            "responses": {**json_ok(_RECORD), **error_responses(400, 401, 403, 404, 409)},
        }
    },
    "/customers/{customer_id}/merge": {
        "post": {
            "summary": "Merge another customer (source_id) into this one (supervisors and admins)",
            "parameters": [_ID],
            "requestBody": json_body(MergeIn),
            "responses": {**json_ok(_RECORD), **error_responses(400, 401, 403, 404)},
        }
    },
}


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/customers", find_customers)
    app.router.add_post("/api/v1/customers", create_customer)
    app.router.add_get("/api/v1/customers/{customer_id}", get_customer)
    app.router.add_patch("/api/v1/customers/{customer_id}", patch_customer)
    app.router.add_post("/api/v1/customers/{customer_id}/identities", link_identity)
    app.router.add_post("/api/v1/customers/{customer_id}/merge", merge_customer)
    app[OPENAPI].add(PATHS)
    app[PROFILE_SECTIONS]["tier_history"] = customers.tier_history
