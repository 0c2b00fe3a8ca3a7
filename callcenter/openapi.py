"""The OpenAPI document at `/api/v1/openapi.json`, assembled from each feature's paths."""

from __future__ import annotations

from typing import Any

from aiohttp import web


class OpenAPI:
    def __init__(self) -> None:
        self.paths: dict[str, Any] = {}
        self.security_schemes: dict[str, Any] = {"bearer": {"type": "http", "scheme": "bearer"}}
        self.schemas: dict[str, Any] = {
            "Error": {
                "type": "object",
                "required": ["error", "message"],
                "properties": {
                    "error": {"type": "string", "description": "machine-readable error id"},
                    "message": {"type": "string"},
                    "details": {"type": "object"},
                },
            }
        }

    def add(
        self,
        paths: dict[str, Any],
        schemas: dict[str, Any] | None = None,
        security_schemes: dict[str, Any] | None = None,
    ) -> None:
        for path, operations in paths.items():
            self.paths.setdefault(path, {}).update(operations)
        self.schemas.update(schemas or {})
        self.security_schemes.update(security_schemes or {})

    def document(self) -> dict[str, Any]:
        return {
            "openapi": "3.1.0",
            "info": {"title": "contactdesk API", "version": "1"},
            "servers": [{"url": "/api/v1"}],
            "components": {
                "schemas": self.schemas,
                "securitySchemes": self.security_schemes,
            },
            "security": [{"bearer": []}],
            "paths": dict(sorted(self.paths.items())),
        }

    async def handle(self, _request: web.Request) -> web.Response:
        return web.json_response(self.document())


def error_responses(*statuses: int) -> dict[str, Any]:
    text = {
        400: "bad input",
        401: "no or unknown token",
        403: "role may not",
        404: "not found",
        409: "conflict",
        449: "Rasa sent neither a domain nor a known domain digest",
    }
    return {
        str(s): {
            "description": text.get(s, "error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for s in statuses
    }
