"""What Rasa posts to an action server, rebuilt from rasa-sdk's own endpoint tests.

Source: RasaHQ/rasa-sdk (https://github.com/RasaHQ/rasa-sdk), tests/test_endpoint.py: the
bodies it posts to `/webhook` (a bare tracker `{"sender_id", "conversation_id"}`, with and
without a domain, and deflate-compressed with `Content-Encoding: deflate`, as Rasa sends when
it compresses action calls) and what rasa-sdk's server (rasa_sdk/endpoint.py) answers: 200
`{"events", "responses"}`; 400 `{"error", "action_name"}` when the action raises
ActionExecutionRejection; 404 `{"error", "action_name"}` for an action nobody registered; 449
when neither a domain nor the digest of one already sent comes with the call. The action
names are ours (rasa-sdk's tests run its own test actions)."""

from __future__ import annotations

import json
import zlib
from typing import Any

# test_server_webhook_unknown_action_returns_404 / _custom_action_returns_200: the tracker
# as rasa-sdk's tests send it, nothing but who and which conversation.
BARE_TRACKER = {"sender_id": "1", "conversation_id": "default"}


def action_call(action: str, *, domain: Any = None, **extra: Any) -> dict[str, Any]:
    """rasa-sdk's test body for `action`; `domain` left out unless given (as in its 404 test)."""
    call: dict[str, Any] = {"next_action": action, "tracker": dict(BARE_TRACKER), **extra}
    if domain is not None:
        call["domain"] = domain
    return call


def deflated(call: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """test_server_webhook_custom_action_encoded_data_returns_200: the body zlib-compressed,
    with the header rasa-sdk decompresses on."""
    return zlib.compress(json.dumps(call).encode()), {"Content-Encoding": "deflate"}


# rasa_sdk/endpoint.py: the status each exception of the executor is answered with.
STATUS_FOR = {
    "ActionExecutionRejection": 400,
    "ActionNotFoundException": 404,
    "ActionMissingDomainException": 449,
}
# rasa_sdk/interfaces.py: the messages rasa-sdk's exceptions carry by default.
NOT_FOUND_MESSAGE = "No registered action found for name '{action}'."
MISSING_DOMAIN_MESSAGE = (
    "Missing domain context, assistant will retry the request and include "
    "the domain in the request payload. For more information please see "
    "https://rasa.com/docs/action-server/"
)
