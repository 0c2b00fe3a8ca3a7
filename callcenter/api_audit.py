"""`GET /api/v1/audit`: the audit trail, newest first, for supervisors and admins."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from aiohttp import web

from callcenter.auth import require_user
from callcenter.keys import OPENAPI, SESSIONS
from callcenter.openapi import error_responses, id_schema, query
from callcenter.serialize import json_response
from handlers import audit
from handlers.roles import MANAGERS
from storage.audit import AuditRecord


def entry(record: AuditRecord) -> dict[str, Any]:
    return {
        "at": record.at,
        "actor": record.actor,
        "action": record.action,
        "customer_id": record.customer_id,
        "via": record.via,
        "details": record.details,
    }


async def list_entries(request: web.Request) -> web.Response:
    user = await require_user(request, *MANAGERS)
    query = audit.parse_query(
        customer_id=request.query.get("customer_id"),
        actor=request.query.get("actor"),
        since=request.query.get("since"),
        limit=request.query.get("limit"),
        naive_zone=UTC,
    )
    async with request.app[SESSIONS]() as session:
        found = await audit.read_trail(session, user, query)
    return json_response({"entries": [entry(r) for r in found]})


_ENTRY = {
    "type": "object",
    "required": ["at", "actor", "action", "customer_id", "via", "details"],
    "properties": {
        "at": {"type": "string", "format": "date-time"},
        "actor": {
            "type": "string",
            "description": "a login, `telegram:<user id>`, `rasa:<channel>:<sender>`, `cli:<os user>`",
        },
        "action": {"type": "string", "examples": ["customer.read", "complaint.list", "customer.card"]},
        "customer_id": {"type": ["integer", "null"]},
        "via": {"type": "string", "description": "api, console, ws, rasa, telegram, import, system"},
        "details": {"type": "object"},
    },
}

PATHS: dict[str, Any] = {
    "/audit": {
        "get": {
            "summary": "Who read or changed customer data, newest first (supervisors, admins)",
            "parameters": [
                query("customer_id", id_schema()),
                {
                    "name": "actor",
                    "in": "query",
                    "description": "exactly as entries name it, e.g. a login or telegram:12345",
                    "schema": {"type": "string", "maxLength": audit.ACTOR_LENGTH},
                },
                {
                    "name": "since",
                    "in": "query",
                    "description": "entries at or after this moment; without an offset, UTC",
                    "schema": {"type": "string", "format": "date-time"},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": audit.MAX_LIMIT,
                        "default": audit.DEFAULT_LIMIT,
                    },
                },
            ],
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["entries"],
                                "properties": {"entries": {"type": "array", "items": _ENTRY}},
                            }
                        }
                    },
                },
                **error_responses(400, 401, 403),
            },
        }
    }
}


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/audit", list_entries)
    app[OPENAPI].add(PATHS)
