"""`/api/v1/users`: admins list, add and change people, and disable an account (its sessions
and API tokens end at once). The use cases are handlers/users.py and handlers/accounts.py."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from callcenter.auth import require_user
from callcenter.keys import OPENAPI, SESSIONS, SETTINGS
from callcenter.openapi import error_responses, json_body, json_ok, obj, returned
from callcenter.serialize import json_response, parse, read_json
from handlers import accounts, users
from handlers.errors import InvalidInput
from handlers.roles import ADMIN, ROLES
from handlers.routing.rules import Rules
from storage.users import Actor

# The skills the routing rules ask for, worked out once at start.
KNOWN_SKILLS = web.AppKey("known_skills", frozenset[str])

_Names = list[str]


class UserIn(BaseModel):
    login: str = Field(pattern=users.LOGIN.pattern, max_length=64)
    role: str = Field(json_schema_extra={"enum": list(ROLES)})
    name: str = Field(default="", max_length=users.NAME_LENGTH)
    skills: _Names = Field(default_factory=list, max_length=50)
    languages: _Names = Field(default_factory=list, max_length=10)
    queues: _Names = Field(default_factory=list, max_length=50)
    phone: str | None = Field(default=None, max_length=64, description="any spelling; stored as E.164")
    twilio_client: str | None = Field(default=None, max_length=128)
    max_chats: int = Field(default=users.DEFAULT_MAX_CHATS, ge=0, le=users.MAX_CHATS)


class UserPatch(BaseModel):
    role: str | None = Field(default=None, json_schema_extra={"enum": [*ROLES, None]})
    name: str | None = Field(default=None, max_length=users.NAME_LENGTH)
    skills: _Names | None = Field(default=None, max_length=50)
    languages: _Names | None = Field(default=None, max_length=10)
    queues: _Names | None = Field(default=None, max_length=50)
    phone: str | None = Field(default=None, max_length=64, description='any spelling; "" removes it')
    twilio_client: str | None = Field(default=None, max_length=128, description='"" removes it')
    max_chats: int | None = Field(default=None, ge=0, le=users.MAX_CHATS)
    # Only true: a disabled account's sessions and tokens are gone for good.
    disabled: Literal[True] | None = None


def _optional(values: list[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


def _profile(body: UserIn | UserPatch) -> users.Profile:
    return users.Profile(
        role=body.role,
        name=body.name,
        skills=_optional(body.skills),
        languages=_optional(body.languages),
        queues=_optional(body.queues),
        phone=body.phone,
        twilio_client=body.twilio_client,
        max_chats=body.max_chats,
    )


def known_skills(request: web.Request) -> frozenset[str]:
    return request.app[KNOWN_SKILLS]


async def list_users(request: web.Request) -> web.Response:
    await require_user(request, ADMIN)
    async with request.app[SESSIONS]() as session:
        return json_response({"users": await users.list_users(session)})


async def create_user(request: web.Request) -> web.Response:
    admin = await require_user(request, ADMIN)
    body = parse(UserIn, await read_json(request))
    profile = _profile(body)
    async with request.app[SESSIONS]() as session:
        created = await users.add_user(
            session,
            Actor.of(admin, "api"),
            body.login,
            profile,
            known_skills=known_skills(request),
            region=request.app[SETTINGS].default_region,
        )
    return json_response({"user": created.user, "password": created.password}, status=201)


async def patch_user(request: web.Request) -> web.Response:
    admin = await require_user(request, ADMIN)
    body = parse(UserPatch, await read_json(request))
    login = request.match_info["login"]
    profile = _profile(body)
    if profile == users.Profile() and body.disabled is None:
        raise InvalidInput(
            "nothing to change: give role, name, skills, languages, queues, phone, twilio_client, "
            "max_chats or disabled"
        )
    actor = Actor.of(admin, "api")
    async with request.app[SESSIONS]() as session:
        if profile != users.Profile():
            await users.update_user(
                session,
                actor,
                login,
                profile,
                known_skills=known_skills(request),
                region=request.app[SETTINGS].default_region,
            )
        if body.disabled:
            await accounts.disable_user(session, login, actor)
        view = await users.get_user(session, login)
    return json_response(view)


_USER = returned(users.UserView)
_LOGIN = {
    "name": "login",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": f"^{users.LOGIN.pattern}$", "maxLength": 64},
}

PATHS: dict[str, Any] = {
    "/users": {
        "get": {
            "summary": "Every user, without password hashes (admins)",
            "responses": {
                **json_ok(obj({"users": {"type": "array", "items": _USER}})),
                **error_responses(401, 403),
            },
        },
        "post": {
            "summary": "Add a user (admins); the generated password is returned this once",
            "requestBody": json_body(UserIn),
            "responses": {
                **json_ok(obj({"user": _USER, "password": {"type": "string"}}), 201, "Created"),
                **error_responses(400, 401, 403, 409),
            },
        },
    },
    "/users/{login}": {
        "patch": {
            "summary": "Change role, name, skills, languages, queues, phone, Twilio Client identity, "
            "max_chats (concurrent chats); "
            "`disabled: true` ends the "
            "user's sessions and API tokens at once (admins)",
            "parameters": [_LOGIN],
            "requestBody": json_body(UserPatch),
            "responses": {**json_ok(_USER), **error_responses(400, 401, 403, 404)},
        }
    },
}


def setup(app: web.Application, routing: Rules) -> None:
    app[KNOWN_SKILLS] = users.routing_skills(routing)
    app.router.add_get("/api/v1/users", list_users)
    app.router.add_post("/api/v1/users", create_user)
    app.router.add_patch("/api/v1/users/{login}", patch_user)
    app[OPENAPI].add(PATHS)
