"""One place that turns domain errors and bad requests into JSON answers, never tracebacks."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import hdrs, web

from handlers.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, TooManyAttempts
from storage.db import unavailable, unstorable

log = logging.getLogger(__name__)

STATUS = {InvalidInput: 400, Forbidden: 403, NotFound: 404, Conflict: 409, TooManyAttempts: 429}


def json_error(status: int, error: str, message: str, **details: Any) -> web.Response:
    body: dict[str, Any] = {"error": error, "message": message}
    if details:
        body["details"] = details
    return web.json_response(body, status=status)


def status_for(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except DomainError as error:
        return json_error(status_for(error), error.error_id, error.message, **error.details)
    except web.HTTPException as error:
        if error.status < 400 or error.content_type == "application/json":
            raise
        if not request.path.startswith(("/api/", "/telephony/", "/rasa/")):
            raise
        response = json_error(
            error.status, error.reason.lower().replace(" ", "-"), error.text or error.reason
        )
        # The exception's own headers still apply: a 405's Allow, a 401's WWW-Authenticate.
        for name, value in error.headers.items():
            if name not in (hdrs.CONTENT_TYPE, hdrs.CONTENT_LENGTH):
                response.headers.add(name, value)
        return response
    except Exception as error:
        route = request.match_info.route.resource
        if unavailable(error):
            log.warning("database unavailable on %s %s: %s", request.method, route, type(error).__name__)
            return json_error(
                503, "database-unavailable", "the database is not answering; try again in a moment"
            )
        if unstorable(error):
            # Not the error's text: it quotes the statement's parameters (phones, messages).
            log.warning("the database refused a value on %s %s", request.method, route)
            return json_error(400, "invalid-input", "a value in the request cannot be stored")
        log.exception("unhandled error on %s %s", request.method, route)
        return json_error(500, "internal-error", "something went wrong on our side; it has been logged")
