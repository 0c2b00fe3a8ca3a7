"""`/api/v1/conversations`: the chat inbox for integrations and the console. Listing and
reading (with the transcript) are audited reads of the customers shown; a reply, a transfer
or a close is only for the agent who owns the conversation, or a supervisor. The use cases
are handlers/inbox/."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from callcenter.auth import require_user
from callcenter.console_auth import check_form
from callcenter.keys import CLOCK, EVENTS, INBOX_POLICY, OPENAPI, REPORT_SESSIONS, SESSIONS
from callcenter.openapi import (
    error_responses,
    id_in_path,
    json_body,
    json_ok,
    obj,
    query,
    returned,
)
from callcenter.params import path_id, query_int, query_moment
from callcenter.serialize import json_response, parse, plain, read_json
from handlers import reports
from handlers.inbox import lifecycle, messages
from handlers.inputs import MAX_ID
from handlers.roles import MANAGERS, STAFF
from handlers.users import LOGIN
from storage.inbox import STATES, ConversationView, MessageView
from storage.users import UserRecord


class ReplyIn(BaseModel):
    text: str = Field(min_length=1, max_length=messages.MAX_TEXT)


class TransferIn(BaseModel):
    """One of the two: another agent's login, or a queue to wait in."""

    agent: str | None = Field(default=None, max_length=64)
    queue: str | None = Field(default=None, max_length=64)


class CloseIn(BaseModel):
    disposition: str = Field(min_length=1, max_length=lifecycle.DISPOSITION_LENGTH)


async def _acting_user(request: web.Request) -> UserRecord:
    """The user behind a change: a bearer token, or the console's cookie with its CSRF token
    in `X-CSRF-Token` (another site can make a browser send the cookie, never the token)."""
    user = await require_user(request, *STAFF)
    await check_form(request, {"csrf": request.headers.get("X-CSRF-Token", "")})
    return user


async def list_conversations(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    state = request.query.get("state") or None
    agent = request.query.get("agent") or None
    limit = min(query_int(request, "limit", low=1) or 100, 500)
    async with request.app[SESSIONS]() as session:
        found = await lifecycle.list_conversations(
            session, user, state=state, agent=agent, via="api", limit=limit
        )
    return json_response({"conversations": found})


async def read_conversation(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    async with request.app[SESSIONS]() as session:
        transcript = await lifecycle.read(session, user, path_id(request, "conversation_id"), via="api")
    body = plain(transcript.conversation)
    body["messages"] = plain(transcript.messages)
    return json_response(body)


async def reply(request: web.Request) -> web.Response:
    user = await _acting_user(request)
    body = parse(ReplyIn, await read_json(request))
    async with request.app[SESSIONS]() as session:
        sent = await messages.reply(
            session,
            request.app[EVENTS],
            user,
            path_id(request, "conversation_id"),
            body.text,
            now=request.app[CLOCK](),
        )
    return json_response(sent, status=201)


async def transfer(request: web.Request) -> web.Response:
    user = await _acting_user(request)
    body = parse(TransferIn, await read_json(request))
    async with request.app[SESSIONS]() as session:
        moved = await lifecycle.transfer(
            session,
            request.app[EVENTS],
            request.app[INBOX_POLICY],
            user,
            path_id(request, "conversation_id"),
            agent=body.agent,
            queue=body.queue,
            via="api",
            now=request.app[CLOCK](),
        )
    return json_response(moved)


async def close(request: web.Request) -> web.Response:
    user = await _acting_user(request)
    body = parse(CloseIn, await read_json(request))
    async with request.app[SESSIONS]() as session:
        closed = await lifecycle.close(
            session,
            request.app[EVENTS],
            request.app[INBOX_POLICY],
            user,
            path_id(request, "conversation_id"),
            body.disposition,
            now=request.app[CLOCK](),
        )
    return json_response(closed)


async def conversations_report(request: web.Request) -> web.Response:
    await require_user(request, *MANAGERS)
    now = request.app[CLOCK]()
    start = query_moment(request, "from", now - timedelta(days=30))
    end = query_moment(request, "to", now)
    group_by = request.query.get("group_by") or "agent"
    async with request.app[REPORT_SESSIONS]() as session:
        rows = await reports.conversations(session, start, end, group_by)
    return json_response({"from": start, "to": end, "group_by": group_by, "rows": rows})


_CONVERSATION = returned(ConversationView)
_MESSAGE = returned(MessageView)
_ID = [id_in_path("conversation_id")]
_LIMIT = {"type": "integer", "minimum": 1, "maximum": MAX_ID, "description": "at most 500 (default 100)"}

PATHS: dict[str, Any] = {
    "/reports/conversations": {
        "get": {
            "summary": "Chats opened over a period by agent or queue: first response time, handle time "
            "and CSAT (supervisors and admins)",
            "parameters": [
                query("from", {"type": "string", "format": "date-time"}, "default: 30 days ago"),
                query("to", {"type": "string", "format": "date-time"}, "default: now"),
                query(
                    "group_by",
                    {"type": "string", "enum": list(reports.CONVERSATION_GROUPS)},
                    "default: agent",
                ),
            ],
            "responses": {
                **json_ok(
                    obj(
                        {
                            "from": {"type": "string", "format": "date-time"},
                            "to": {"type": "string", "format": "date-time"},
                            "group_by": {"type": "string"},
                            "rows": {"type": "array", "items": returned(reports.ConversationRow)},
                        }
                    )
                ),
                **error_responses(400, 401, 403),
            },
        }
    },
    "/conversations": {
        "get": {
            "summary": "Chat conversations: live ones (waiting or open) unless a state is given; an "
            "agent lists their own, and the waiting line with state=waiting; audited per customer",
            "parameters": [
                query("state", {"type": "string", "enum": list(STATES)}),
                query("agent", {"type": "string", "pattern": f"^{LOGIN.pattern}$", "maxLength": 64}),
                query("limit", _LIMIT),
            ],
            "responses": {
                **json_ok(obj({"conversations": {"type": "array", "items": _CONVERSATION}})),
                **error_responses(400, 401, 404),
            },
        }
    },
    "/conversations/{conversation_id}": {
        "get": {
            "summary": "A conversation with its transcript (audited); agents read their own",
            "parameters": _ID,
            "responses": {
                **json_ok(
                    {
                        "allOf": [_CONVERSATION],
                        **obj({"messages": {"type": "array", "items": _MESSAGE}}),
                    }
                ),
                **error_responses(400, 401, 403, 404),
            },
        }
    },
    "/conversations/{conversation_id}/messages": {
        "post": {
            "summary": "Reply to the customer (the owning agent, or a supervisor); it goes out through "
            "the outbox and its delivery (pending, sent, failed, blocked) reaches the agent's socket",
            "parameters": _ID,
            "requestBody": json_body(ReplyIn),
            "responses": {**json_ok(_MESSAGE, 201, "Created"), **error_responses(400, 401, 403, 404, 409)},
        }
    },
    "/conversations/{conversation_id}/transfer": {
        "post": {
            "summary": "Hand the conversation to another agent (who has a free chat place) or back to a "
            "queue's waiting line",
            "parameters": _ID,
            "requestBody": json_body(TransferIn),
            "responses": {**json_ok(_CONVERSATION), **error_responses(400, 401, 403, 404, 409)},
        }
    },
    "/conversations/{conversation_id}/close": {
        "post": {
            "summary": "Close with a disposition; the customer is asked the CSAT question once",
            "parameters": _ID,
            "requestBody": json_body(CloseIn),
            "responses": {**json_ok(_CONVERSATION), **error_responses(400, 401, 403, 404, 409)},
        }
    },
}


def setup(app: web.Application) -> None:
    from callcenter.api_customers import PROFILE_SECTIONS

    app[PROFILE_SECTIONS]["conversations"] = lifecycle.of_customer
    router = app.router
    router.add_get("/api/v1/conversations", list_conversations)
    router.add_get("/api/v1/reports/conversations", conversations_report)
    router.add_get("/api/v1/conversations/{conversation_id}", read_conversation)
    router.add_post("/api/v1/conversations/{conversation_id}/messages", reply)
    router.add_post("/api/v1/conversations/{conversation_id}/transfer", transfer)
    router.add_post("/api/v1/conversations/{conversation_id}/close", close)
    app[OPENAPI].add(PATHS)
