"""twilio-python's own signing fixtures (tests/peers/twilio_request_validator.py) replayed
over HTTP against our signed voice webhook: each request Twilio signed is accepted, and the
same request with one value changed or dropped is a 403."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from callcenter import telephony_twilio
from callcenter.app import create_app
from callcenter.settings import Settings
from tests.peers.twilio_request_validator import AUTH_TOKEN, CASES, SignedRequest
from tests.twiml import parse

Client = TestClient[web.Request, web.Application]


@asynccontextmanager
async def webhook_at(settings: Settings, case: SignedRequest) -> AsyncIterator[Client]:
    """The app as Twilio reaches it in the fixture: behind https://mycompany.com (the public
    URL), or over plain http where the Host header names the server, with the voice webhook
    at the fixture's path, /myapp.php."""
    public_url = case.origin if case.url.startswith("https:") else None
    app = create_app(settings.model_copy(update={"twilio_auth_token": AUTH_TOKEN, "public_url": public_url}))
    app.router.add_post(URL(case.url).path, telephony_twilio.signed(telephony_twilio.voice))
    async with TestClient(TestServer(app)) as client:
        yield client


async def replay(client: Client, case: SignedRequest, params: tuple[tuple[str, str], ...]) -> ClientResponse:
    url = URL(case.url)
    response = await client.post(
        url.raw_path_qs,
        data=list(params),
        headers={"X-Twilio-Signature": case.signature, "Host": url.raw_authority},
    )
    await response.read()
    return response


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_a_request_twilio_signed_is_accepted_and_a_tampered_one_refused(
    settings: Settings, case: SignedRequest
) -> None:
    async with webhook_at(settings, case) as client:
        response = await replay(client, case, case.params)
        if dict(case.params).get("CallSid"):
            assert response.status == 200
            parse(await response.text())  # TwiML for the call
        else:  # the repeated-key fixture has no CallSid: past the signature, the webhook asks for one
            assert response.status == 400
            assert (await response.json())["details"]["field"] == "CallSid"

        changed = tuple((key, value + "0" if key == "Digits" else value) for key, value in case.params)
        dropped = tuple(pair for index, pair in enumerate(case.params) if pair[0] != "Digits" or index > 2)
        for tampered in (changed, dropped, (*case.params, ("Digits", "9"))):
            refused = await replay(client, case, tampered)
            assert refused.status == 403, tampered
            assert (await refused.json())["error"] == "bad-signature"
