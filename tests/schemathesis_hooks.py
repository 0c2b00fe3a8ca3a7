"""Credentials for schemathesis in tests/test_api_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

Each door gets what its security scheme in the OpenAPI document names, read from the same
environment the server got: the API a supervisor's token, the CTI webhook and the dialer the
telephony token (Zammad's CTI URL in its path), Telegram its webhook secret, Rasa its
token. Twilio signs each webhook (an HMAC of the URL and the form, keyed by the auth
token), so no fixed value can be right: that
provider signs the very request about to be sent, as Twilio would. The `ignored_auth` check
then drops or spoils each credential and expects a refusal.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qsl

import requests
import schemathesis
from twilio.request_validator import RequestValidator

WEBHOOKS = r"^/(telephony|telegram|rasa|dialer)/"


def bearer(setting: str) -> str:
    return f"Bearer {os.environ[setting]}"


def header(name: str, value: Any) -> type:
    """An auth provider that puts `value()` into header `name`."""

    class FixedHeader:
        def get(self, case: schemathesis.Case, context: Any) -> str:
            return str(value())

        def set(self, case: schemathesis.Case, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), name: data}

    return FixedHeader


schemathesis.auth().skip_for(path_regex=WEBHOOKS)(header("Authorization", lambda: bearer("FUZZ_API_TOKEN")))
schemathesis.auth().apply_to(path_regex=r"^/(telephony/cti$|dialer/)")(
    header("Authorization", lambda: bearer("CONTACTDESK_CTI_TOKEN"))
)
schemathesis.auth().apply_to(path_regex=r"^/rasa/")(
    header("Authorization", lambda: bearer("CONTACTDESK_RASA_TOKEN"))
)
schemathesis.auth().apply_to(path_regex=r"^/telegram/")(
    header("X-Telegram-Bot-Api-Secret-Token", lambda: os.environ["CONTACTDESK_TELEGRAM_WEBHOOK_SECRET"])
)


@schemathesis.hook("map_path_parameters").apply_to(path_regex=r"^/telephony/cti/")
def cti_token_in_path(context: Any, path_parameters: dict[str, Any]) -> dict[str, Any]:
    """Zammad's CTI URL carries the telephony token in its path (/telephony/cti/{token}): no
    security scheme can say so, so the token is given as the path parameter it is. Wrong
    tokens have their own test (tests/test_zammad_cti.py)."""
    return {**path_parameters, "token": os.environ["CONTACTDESK_CTI_TOKEN"]}


@schemathesis.auth().apply_to(path_regex=r"^/telephony/twilio/")
class TwilioSignature:
    def get(self, case: schemathesis.Case, context: Any) -> str:
        return os.environ["CONTACTDESK_TWILIO_AUTH_TOKEN"]

    def set(self, case: schemathesis.Case, data: str, context: Any) -> None:
        sent = case.as_transport_kwargs(base_url=os.environ["CONTACTDESK_PUBLIC_URL"])
        request = requests.Request(
            method=sent["method"], url=sent["url"], params=sent.get("params"), data=sent.get("data")
        ).prepare()
        body = request.body if isinstance(request.body, str) else (request.body or b"").decode("latin-1")
        # The app reads the form as aiohttp parses it: one value per name, the first.
        params: dict[str, str] = {}
        for name, value in parse_qsl(body, keep_blank_values=True):
            params.setdefault(name, value)
        signature = RequestValidator(data).compute_signature(str(request.url), params)
        case.headers = {**(case.headers or {}), "X-Twilio-Signature": signature}
