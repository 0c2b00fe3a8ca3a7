"""What a fuzzer found, as a client sees it: every malformed number, body or text is a 400
with the JSON error body, never a 500, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.conftest import Staff

Client = TestClient[web.Request, web.Application]

BEYOND_64_BITS = str(2**64)
BAD_NUMBERS = (BEYOND_64_BITS, "9" * 5000, "³", "٣", "１", "0", "-1", "1e3", " 1")

# Every route with an id in its path: (method, path with {id}, JSON body).
ID_ROUTES: tuple[tuple[str, str, dict[str, Any] | None], ...] = (
    ("GET", "/api/v1/customers/{id}", None),
    ("PATCH", "/api/v1/customers/{id}", {"tier": "vip", "reason": "x"}),
    ("POST", "/api/v1/customers/{id}/identities", {"kind": "email", "value": "a@example.com"}),
    ("POST", "/api/v1/customers/{id}/merge", {"source_id": 1}),
    ("GET", "/api/v1/complaints/{id}", None),
    ("POST", "/api/v1/complaints/{id}/transition", {"to": "acknowledged"}),
    ("POST", "/api/v1/complaints/{id}/satisfaction", {"satisfied": True}),
    ("POST", "/api/v1/surveys/{id}/answer", {"score": 3}),
    ("GET", "/api/v1/campaigns/{id}", None),
    ("GET", "/api/v1/campaigns/{id}/preview", None),
    ("POST", "/api/v1/campaigns/{id}/pause", None),
)


async def assert_json_400(response: Any, field: str | None = None) -> dict[str, Any]:
    assert response.status == 400, await response.text()
    body = dict(await response.json())
    assert isinstance(body["error"], str)
    assert isinstance(body["message"], str)
    if field is not None:
        assert field in str(body)
    return body


@pytest.mark.parametrize(("method", "path", "body"), ID_ROUTES, ids=[f"{m} {p}" for m, p, _ in ID_ROUTES])
async def test_an_id_that_is_not_a_64_bit_ascii_number_is_a_400(
    client: Client, staff: Staff, method: str, path: str, body: dict[str, Any] | None
) -> None:
    for bad in BAD_NUMBERS:
        response = await client.request(method, path.format(id=bad), json=body, headers=staff.admin)
        if path.startswith("/api/v1/campaigns/") and not re.fullmatch(r"\d+", bad):
            # These routes match digits only (so /campaigns/audience is not a campaign id):
            # anything else is no such resource, still a JSON 4xx.
            assert response.status == 404, await response.text()
            assert (await response.json())["error"] == "not-found"
            continue
        await assert_json_400(response)
    # The largest id a database column holds is a plain "not found".
    largest = await client.request(method, path.format(id=2**63 - 1), json=body, headers=staff.admin)
    assert largest.status in (404, 409), await largest.text()


async def test_the_campaign_page_refuses_an_id_beyond_64_bits(client: Client, staff: Staff) -> None:
    for bad in (BEYOND_64_BITS, "٣"):
        response = await client.post(
            f"/supervisor/campaigns/{bad}/pause", data={"csrf": "x"}, headers=staff.supervisor
        )
        await assert_json_400(response, "campaign_id")


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/complaints", "customer_id"),
        ("/api/v1/complaints", "limit"),
        ("/api/v1/complaints", "offset"),
        ("/api/v1/surveys", "customer_id"),
        ("/api/v1/surveys", "limit"),
    ],
)
async def test_an_integer_query_parameter_that_is_not_one_is_a_400(
    client: Client, staff: Staff, path: str, name: str
) -> None:
    for bad in (BEYOND_64_BITS, "³", "٣", "-5", "abc"):
        await assert_json_400(await client.get(path, params={name: bad}, headers=staff.supervisor), name)
    ok = await client.get(path, params={name: "1"}, headers=staff.supervisor)
    assert ok.status == 200


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/v1/complaints",
            {"customer_id": 2**64, "category": "billing", "description": "x"},
            "customer_id",
        ),
        ("/api/v1/surveys", {"customer_id": 2**70, "kind": "csat"}, "customer_id"),
        ("/api/v1/customers/1/merge", {"source_id": 10**30}, "source_id"),
        (
            "/api/v1/campaigns",
            {"name": "n", "kind": "follow_up", "schedule": {"rate_per_minute": 2**40}},
            "rate",
        ),
        (
            "/api/v1/campaigns",
            {"name": "n", "kind": "follow_up", "schedule": {"recurrence_days": 10**12}},
            "rec",
        ),
    ],
)
async def test_a_huge_number_in_a_json_body_is_a_400(
    client: Client, staff: Staff, path: str, body: dict[str, Any], field: str
) -> None:
    await assert_json_400(await client.post(path, json=body, headers=staff.admin), field)


async def test_a_dialer_result_for_a_target_beyond_64_bits_is_a_400(client: Client, settings: Any) -> None:
    from aiohttp.test_utils import TestServer

    from callcenter.app import create_app

    configured = settings.model_copy(update={"cti_token": "cti"})
    async with TestClient(TestServer(create_app(configured))) as dialer:
        response = await dialer.post(
            "/api/v1/dialer/results",
            json={"target_id": 2**64, "outcome": "answered"},
            headers={"Authorization": "Bearer cti"},
        )
        await assert_json_400(response, "target_id")


@pytest.mark.parametrize(
    ("raw", "content_type", "error"),
    [
        (b"[1, 2]", "application/json", "invalid-json"),
        (b'"text"', "application/json", "invalid-json"),
        (b"null", "application/json", "invalid-json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", "invalid-json"),
        (b'{"name": "\xff\xfe"}', "application/json", "invalid-json"),
        (b'{"name": "x"}', "application/json; charset=no-such-charset", "invalid-json"),
        (b'{"name": "a\\u0000b", "phones": []}', "application/json", "invalid-text"),
        (b'{"name": "a\\ud800b", "phones": []}', "application/json", "invalid-text"),
        (b'{"name": 1' + b"0" * 5000 + b"}", "application/json", "invalid-json"),
    ],
    ids=["list", "string", "null", "nested", "not-utf8", "charset", "nul", "surrogate", "long-number"],
)
async def test_a_body_that_is_not_a_storable_json_object_is_a_400(
    client: Client, staff: Staff, raw: bytes, content_type: str, error: str
) -> None:
    response = await client.post(
        "/api/v1/customers", data=raw, headers={**staff.supervisor, "Content-Type": content_type}
    )
    body = await assert_json_400(response)
    assert body["error"] == error


async def test_text_too_long_for_its_column_is_a_400_not_a_500(client: Client, staff: Staff) -> None:
    response = await client.post(
        "/api/v1/customers", json={"name": "x", "email": "a" * 500 + "@example.com"}, headers=staff.supervisor
    )
    assert response.status in (201, 400), await response.text()


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "2026-13-01", "²⁰²⁶-01-01"]
)
async def test_a_date_that_is_no_moment_in_utc_is_a_400(client: Client, staff: Staff, moment: str) -> None:
    for name in ("from", "to"):
        response = await client.get(
            "/api/v1/reports/satisfaction", params={name: moment}, headers=staff.supervisor
        )
        await assert_json_400(response, name)
    campaign = {"name": "n", "kind": "follow_up", "start": False, "schedule": {"starts_at": moment}}
    await assert_json_400(await client.post("/api/v1/campaigns", json=campaign, headers=staff.supervisor))


CONSOLE_FORMS = (
    "/login",
    "/logout",
    "/agent/state",
    "/agent/calls/c1/disposition",
    "/agent/calls/c1/complaint",
)
MALFORMED_FORMS = (
    ("multipart/form-data", b"--x\r\nno boundary was declared\r\n"),
    ("application/x-www-form-urlencoded; charset=no-such-charset", b"a=1"),
    ("application/x-www-form-urlencoded", b"login=\xff\xfe&password=x"),
)


@pytest.mark.parametrize("path", CONSOLE_FORMS)
async def test_a_console_form_that_cannot_be_read_is_a_400_not_a_500(
    client: Client, staff: Staff, path: str
) -> None:
    for content_type, body in MALFORMED_FORMS:
        response = await client.post(
            path, data=body, headers={**staff.agent, "Content-Type": content_type}, allow_redirects=False
        )
        assert response.status == 400, (path, content_type, response.status, await response.text())
