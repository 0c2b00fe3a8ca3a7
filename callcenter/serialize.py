"""JSON bodies from the plain dataclasses that use cases return."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from handlers.identities import mask

ModelT = TypeVar("ModelT", bound=BaseModel)

# Every table's id is a PostgreSQL bigint.
MAX_ID = 2**63 - 1
# An id in a request body: anything else is a 400, not a query that overflows.
DatabaseId = Annotated[int, Field(ge=1, le=MAX_ID)]


def _field(value: Any, f: dataclasses.Field[Any]) -> Any:
    raw = getattr(value, f.name)
    if f.metadata.get("masked") and isinstance(raw, str):
        # A number a stranger typed in is shown by its ends only, wherever the view goes.
        return mask(raw)
    return plain(raw)


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _field(value, f) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def json_response(value: Any, status: int = 200) -> web.Response:
    return web.json_response(plain(value), status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    try:
        body = await request.json()
    # ValueError covers bad JSON, bad UTF-8 and integers too long to read; RecursionError,
    # nesting deeper than the parser goes.
    except (ValueError, RecursionError) as error:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "invalid-json", "message": f"body is not JSON: {error}"}),
            content_type="application/json",
        ) from error
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"error": "invalid-json", "message": "body must be a JSON object"}',
            content_type="application/json",
        )
    if _holds_nul(body):
        raise web.HTTPBadRequest(
            text=json.dumps(
                {"error": "invalid-input", "message": "text may not contain NUL (U+0000) characters"}
            ),
            content_type="application/json",
        )
    return body


def _holds_nul(value: Any) -> bool:
    """Whether any string in a JSON value holds U+0000, which PostgreSQL cannot store."""
    pending = [value]
    while pending:  # not recursive: a deeply nested body must not exhaust the stack
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def parse(model: type[ModelT], data: Any) -> ModelT:
    """Validate a request body with a pydantic model; a 400 lists every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in error.errors(include_url=False, include_input=False)
        ]
        raise web.HTTPBadRequest(
            text=json.dumps(
                {
                    "error": "invalid-input",
                    "message": "the request has invalid fields",
                    "details": {"fields": problems},
                }
            ),
            content_type="application/json",
        ) from error
