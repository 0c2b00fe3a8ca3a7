"""Request bodies in (JSON, forms: a 400 for anything unreadable) and JSON bodies out, from
the plain dataclasses that use cases return."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from aiohttp import web
from multidict import MultiDict
from pydantic import BaseModel, ValidationError

from handlers.identities import mask
from handlers.inputs import storable

ModelT = TypeVar("ModelT", bound=BaseModel)


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


# What a body nobody should have sent raises while it is read: bad JSON or bytes that are not
# in the declared charset (ValueError), a charset Python does not know (LookupError), nesting
# deeper than the parser's stack (RecursionError), a multipart body without its boundary.
UNREADABLE = (ValueError, LookupError, RecursionError)
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def bad_request(error: str, message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": error, "message": message}), content_type="application/json"
    )


def _unreadable(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "it is nested too deeply"
    return str(error)[:200]


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    try:
        body = await request.json()
    except UNREADABLE as error:
        raise bad_request("invalid-json", f"body is not JSON: {_unreadable(error)}") from error
    if not isinstance(body, dict):
        raise bad_request("invalid-json", "body must be a JSON object")
    if not storable(body):
        raise bad_request("invalid-text", "text may not hold NUL characters or lone surrogates")
    return body


async def read_form(request: web.Request) -> MultiDict[str]:
    """The request's form fields (URL-encoded or multipart, no files), or a 400."""
    if request.content_type not in FORMS:
        raise bad_request("invalid-form", f"the body must be form data ({FORMS[0]})")
    try:
        raw = await request.post()
    except UNREADABLE as error:
        raise bad_request("invalid-form", f"the form cannot be read: {_unreadable(error)}") from error
    form: MultiDict[str] = MultiDict()
    for key, value in raw.items():
        if not isinstance(value, str):
            raise bad_request("invalid-form", "file uploads are not accepted here")
        form.add(key, value)
    if not storable(list(form.items())):
        raise bad_request("invalid-text", "text may not hold NUL characters or lone surrogates")
    return form


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
