"""The OpenAPI document at `/api/v1/openapi.json`, assembled from each feature's paths.

Features describe their operations with the helpers below, so every operation answers its
errors with the same `Error` schema and every id has the same bounds. Schemas taken from
pydantic models and storage dataclasses keep their nested types under `$defs`; `add` hoists
those into `components/schemas`, where the document's `$ref`s point."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from handlers.inputs import MAX_ID

COMPONENTS = "#/components/schemas/"
ERROR = {"$ref": COMPONENTS + "Error"}

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "machine-readable error id"},
        "message": {"type": "string"},
        "details": {"type": "object"},
    },
}

# How each door is locked (callcenter/settings.py names the settings).
SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "a user's API token (`contactdesk token USER`)",
    },
    "ctiBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "CONTACTDESK_CTI_TOKEN; unset refuses every call",
    },
    "ctiQueryToken": {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "CONTACTDESK_CTI_TOKEN in the URL, as Zammad's PBX scripts send it",
    },
    "twilioSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Twilio-Signature",
        "description": "Twilio's HMAC-SHA1 of the public URL and the form, keyed by "
        "CONTACTDESK_TWILIO_AUTH_TOKEN; unset refuses every call",
    },
    "telegramSecret": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Telegram-Bot-Api-Secret-Token",
        "description": "CONTACTDESK_TELEGRAM_WEBHOOK_SECRET, set with setWebhook; unset refuses every update",
    },
    "rasaQueryToken": {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "CONTACTDESK_RASA_TOKEN, as Rasa's action_endpoint `token:` sends it; "
        "unset refuses every call",
    },
    "rasaBearer": {"type": "http", "scheme": "bearer", "description": "CONTACTDESK_RASA_TOKEN"},
}

CTI_SECURITY: list[dict[str, list[str]]] = [{"ctiBearer": []}, {"ctiQueryToken": []}]
TWILIO_SECURITY: list[dict[str, list[str]]] = [{"twilioSignature": []}]
TELEGRAM_SECURITY: list[dict[str, list[str]]] = [{"telegramSecret": []}]
RASA_SECURITY: list[dict[str, list[str]]] = [{"rasaQueryToken": []}, {"rasaBearer": []}]

# Webhooks live outside /api/v1.
ROOT = [{"url": "/"}]

_MEANING = {
    400: "bad input: the error says which field",
    401: "no credentials, or unknown ones",
    403: "your role may not do this",
    404: "no such thing",
    409: "the thing is not in a state that allows this",
    422: "well-formed but not acceptable: the error says why",
    503: "the database is unavailable; try again",
}


class OpenAPI:
    def __init__(self) -> None:
        self.paths: dict[str, Any] = {}
        self.schemas: dict[str, Any] = {"Error": _ERROR_SCHEMA}

    def add(self, paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> None:
        for name, schema in (schemas or {}).items():
            self._schema(name, _hoist(schema, self._schema))
        for path, operations in _hoist(paths, self._schema).items():
            self.paths.setdefault(path, {}).update(operations)

    def _schema(self, name: str, schema: Any) -> None:
        if self.schemas.setdefault(name, schema) != schema:
            raise ValueError(f"two different schemas are both called {name}")

    def document(self) -> dict[str, Any]:
        return {
            "openapi": "3.1.0",
            "info": {"title": "contactdesk API", "version": "1"},
            "servers": [{"url": "/api/v1"}],
            "components": {"schemas": self.schemas, "securitySchemes": SECURITY_SCHEMES},
            "security": [{"bearer": []}],
            "paths": dict(sorted(self.paths.items())),
        }

    async def handle(self, _request: web.Request) -> web.Response:
        return web.json_response(self.document())


def _hoist(node: Any, register: Any) -> Any:
    """A copy of `node` without `$defs`: each definition goes to `register(name, schema)`."""
    if isinstance(node, list):
        return [_hoist(item, register) for item in node]
    if not isinstance(node, dict):
        return node
    for name, schema in node.get("$defs", {}).items():
        register(name, _hoist(schema, register))
    return {key: _hoist(value, register) for key, value in node.items() if key != "$defs"}


def error_responses(*statuses: int, database: bool = True) -> dict[str, Any]:
    """The JSON error answers of an operation; 503 too when it touches the database."""
    codes = (*statuses, 503) if database else statuses
    return {
        str(code): {
            "description": _MEANING.get(code, "error"),
            "content": {"application/json": {"schema": ERROR}},
        }
        for code in codes
    }


def id_in_path(name: str) -> dict[str, Any]:
    """A database id in the path: a positive 64-bit integer."""
    return {"name": name, "in": "path", "required": True, "schema": id_schema()}


def id_schema() -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    parameter = {"name": name, "in": "query", "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": model_schema(model)}}}


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    return _named(model.model_json_schema(ref_template=COMPONENTS + "{model}"))


def returned(value_type: Any) -> dict[str, Any]:
    """The schema of what `serialize.json_response` makes of a storage dataclass (or a list of them)."""
    adapter = TypeAdapter(value_type)
    return _named(adapter.json_schema(mode="serialization", ref_template=COMPONENTS + "{model}"))


def _named(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's schema as a `$ref` to its component (hoisted by `OpenAPI.add`)."""
    title = schema.get("title")
    if schema.get("type") != "object" or not title:
        return schema
    defs = schema.pop("$defs", {})
    return {"$ref": COMPONENTS + title, "$defs": {**defs, title: schema}}


def json_ok(schema: dict[str, Any], status: int = 200, description: str = "OK") -> dict[str, Any]:
    return {str(status): {"description": description, "content": {"application/json": {"schema": schema}}}}


def obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """An object with these properties (the first ones always present)."""
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
    }


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}
