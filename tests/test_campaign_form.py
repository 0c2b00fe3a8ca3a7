"""The new-campaign form on `/supervisor/campaigns` as a supervisor uses it: every part of a
campaign the API takes, the audience counted while it is chosen, the offer picked by the name
customers read, a refused form given back as typed with the reason beside the field."""

from __future__ import annotations

import html as markup
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import Settings
from handlers.accounts import save_user
from storage.models import Customer
from storage.models.base import utcnow
from tests.campaign_fixtures import OFFER, OFFER_NAME, populate
from tests.conftest import Staff
from tests.console_client import csrf_in, sign_in

Client = TestClient[web.Request, web.Application]
PAGE = "/supervisor/campaigns"


@pytest.fixture
async def people(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    return await populate(sessions, utcnow())


@pytest.fixture
async def supervisor(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> AsyncIterator[Client]:
    """A supervisor's browser on the English console, the customers of campaign_fixtures in."""
    async with sessions() as session:
        await save_user(session, "boss", "pw-boss", role="supervisor")
    configured = settings.model_copy(update={"console_language": "en"})
    async with TestClient(TestServer(create_app(configured))) as client:
        assert (await sign_in(client, "boss", "pw-boss")).status == 302
        yield client


def form_data(csrf: str, fields: dict[str, Any]) -> list[tuple[str, str]]:
    data = [("csrf", csrf)]
    for key, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            data.append((key, str(one)))
    return data


async def post(client: Client, path: str, fields: dict[str, Any]) -> tuple[int, str]:
    csrf = csrf_in(await (await client.get(PAGE)).text())
    response = await client.post(path, data=form_data(csrf, fields), allow_redirects=True)
    return response.status, await response.text()


async def audience_count(client: Client, fields: dict[str, Any]) -> int:
    status, body = await post(client, f"{PAGE}/audience", fields)
    assert status == 200, body
    return int(json.loads(body)["count"])


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # Ten customers; the blacklisted one and the opted-out one are never counted.
        ({"kind": "follow_up"}, 8),
        ({"kind": "follow_up", "tiers": ["vip"]}, 1),
        ({"kind": "follow_up", "tiers": ["vip", "preferred"]}, 2),
        ({"kind": "follow_up", "regions": "beijing, london"}, 4),
        ({"kind": "follow_up", "holds": ["FIBER"]}, 2),
        ({"kind": "follow_up", "holds": ["MOBILE"], "lacks": ["FIBER"]}, 2),
        ({"kind": "follow_up", "complaint_resolved_within_days": "7"}, 1),
        ({"kind": "follow_up", "regions": "shanghai", "cap": "2"}, 2),
        ({"kind": "satisfaction", "csat_at_most": "3"}, 1),
        ({"kind": "cross_sell"}, 7),  # not the customer with an open complaint
        ({"kind": "follow_up", "sample_percent": "100"}, 8),
    ],
)
async def test_the_page_counts_the_audience_as_the_filters_are_chosen(
    supervisor: Client, staff: Staff, fields: dict[str, Any], expected: int
) -> None:
    assert await audience_count(supervisor, fields) == expected


async def test_the_count_before_starting_is_the_count_the_campaign_starts_with(
    supervisor: Client, staff: Staff
) -> None:
    # No contact since the day before yesterday: not recent_contact, who called yesterday.
    since = (utcnow() - timedelta(days=2)).date().isoformat()
    fields = {"kind": "follow_up", "regions": "beijing", "last_contact_before": since}
    assert await audience_count(supervisor, fields) == 2
    status, _page = await post(
        supervisor,
        PAGE,
        {**fields, "name": "Beijing, quiet ones", "message_zh": "您好", "weekdays": list(range(7))},
    )
    assert status == 200
    listed = await (await supervisor.get("/api/v1/campaigns")).json()
    assert [row["campaign"]["audience_count"] for row in listed["campaigns"]] == [2]


async def test_a_filter_that_is_not_a_filter_is_refused_with_the_field_named(
    supervisor: Client, staff: Staff
) -> None:
    status, body = await post(supervisor, f"{PAGE}/audience", {"kind": "follow_up", "cap": "lots"})
    assert status == 400
    assert json.loads(body)["details"]["field"] == "cap"
    status, body = await post(supervisor, f"{PAGE}/audience", {"kind": "follow_up", "cap": "0"})
    assert status == 400
    assert "cap is a whole number from 1 to 100000000" in body
    status, body = await post(supervisor, f"{PAGE}/audience", {"kind": "raffle"})
    assert status == 400
    assert "unknown campaign kind" in body


async def test_the_count_needs_the_forms_token_and_a_supervisor(
    supervisor: Client, client: Client, staff: Staff
) -> None:
    refused = await supervisor.post(f"{PAGE}/audience", data={"kind": "follow_up", "csrf": "forged"})
    assert refused.status == 403
    agent = await client.post(f"{PAGE}/audience", data={"kind": "follow_up"}, headers=staff.agent)
    assert agent.status == 403


async def test_the_form_schedules_everything_the_api_takes(supervisor: Client, staff: Staff) -> None:
    page = await (await supervisor.get(PAGE)).text()
    # The offer is chosen by the name customers read; its code is only the option's value.
    assert f'<option value="{OFFER}">{OFFER_NAME}</option>' in page
    assert f">{OFFER}<" not in page
    status, _page = await post(
        supervisor,
        PAGE,
        {
            "name": "Gigabit upgrade",
            "kind": "cross_sell",
            "offer_code": OFFER,
            "channel": "best",
            "message_zh": "{{ name }}，试试{{ offer }}",
            "message_en": "Try {{ offer }}",
            "starts_at": "2030-01-02T09:30",  # the operator's clock: Asia/Shanghai, UTC+8
            "ends_at": "2030-01-09T18:00",
            "hour_from": "10",
            "hour_to": "18",
            "weekdays": ["0", "2", "4"],
            "rate_per_minute": "30",
            "recurrence_days": "14",
            "tiers": ["vip", "preferred"],
            "regions": "shanghai, london",
            "holds": ["FIBER"],
            "lacks": ["MOBILE"],
            "last_contact_after": "2025-01-01",
            "last_contact_before": "2029-12-01",
            "complaint_resolved_within_days": "",
            "csat_at_most": "",
            "sample_percent": "50",
            "cap": "1000",
        },
    )
    assert status == 200
    listed = await (await supervisor.get("/api/v1/campaigns")).json()
    campaign = listed["campaigns"][0]["campaign"]
    assert {key: campaign[key] for key in ("name", "kind", "channel", "offer_code", "state")} == {
        "name": "Gigabit upgrade",
        "kind": "cross_sell",
        "channel": "best",
        "offer_code": OFFER,
        "state": "scheduled",
    }
    assert campaign["messages"] == {"zh": "{{ name }}，试试{{ offer }}", "en": "Try {{ offer }}"}
    assert (campaign["starts_at"], campaign["ends_at"]) == (
        "2030-01-02T01:30:00+00:00",
        "2030-01-09T10:00:00+00:00",
    )
    assert (campaign["hour_from"], campaign["hour_to"], campaign["weekdays"]) == (10, 18, [0, 2, 4])
    assert (campaign["rate_per_minute"], campaign["recurrence_days"]) == (30, 14)
    audience = dict(campaign["audience"])
    assert isinstance(audience.pop("sample_seed"), int)
    assert audience == {
        "tiers": ["vip", "preferred"],
        "regions": ["shanghai", "london"],
        "holds": ["FIBER"],
        "lacks": ["MOBILE"],
        "last_contact_after": "2025-01-01",
        "last_contact_before": "2029-12-01",
        "sample_share": 0.5,
        "cap": 1000,
    }


TYPED = {
    "name": "Autumn upgrade",
    "kind": "cross_sell",
    "channel": "telegram",
    "message_en": "Hello {{ name }}, try {{ offer }}",
    "starts_at": "2030-03-04T08:15",
    "hour_from": "8",
    "hour_to": "21",
    "weekdays": ["1", "3"],
    "tiers": ["preferred"],
    "regions": "london",
    "holds": ["TV"],
    "cap": "25",
}


def kept(page: str, typed: dict[str, Any]) -> None:
    """Everything typed is on the page again, as the supervisor typed it."""
    assert f'name="name" required maxlength="200" value="{typed["name"]}"' in page
    assert '<option value="cross_sell" selected>' in page
    assert markup.escape(typed["message_en"]) + "</textarea>" in page
    assert f'name="starts_at" type="datetime-local" value="{typed["starts_at"]}"' in page
    assert f'name="hour_from" type="number" min="0" max="23" value="{typed["hour_from"]}"' in page
    assert f'name="hour_to" type="number" min="1" max="24" value="{typed["hour_to"]}"' in page
    assert re.findall(r'name="weekdays" value="(\d)" checked', page) == typed["weekdays"]
    assert re.findall(r'name="tiers" value="(\w+)" checked', page) == typed["tiers"]
    assert f'name="regions" value="{typed["regions"]}"' in page
    assert '<option value="TV" selected>Tv</option>' in page
    assert f'name="cap" type="number" min="1" value="{typed["cap"]}"' in page


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"offer_code": "broadband-9999"}, "offer_code", "unknown offer"),
        ({"offer_code": ""}, "offer_code", "a cross-sell campaign names its offer"),
        ({"offer_code": OFFER, "cap": "0"}, "cap", "cap is a whole number from 1 to 100000000"),
        ({"offer_code": OFFER, "hour_to": "7"}, "hour_from", "allowed hours run from hour_from to hour_to"),
        (
            {"offer_code": OFFER, "ends_at": "2030-03-01T00:00"},
            "ends_at",
            "the campaign ends after it starts",
        ),
        ({"offer_code": OFFER, "rate_per_minute": "fast"}, "rate_per_minute", "write a whole number here"),
        ({"offer_code": OFFER, "message_en": "{{ nme }"}, "messages", "not a valid template"),
    ],
)
async def test_a_refused_form_comes_back_as_typed_with_the_reason_beside_the_field(
    supervisor: Client, staff: Staff, change: dict[str, str], field: str, reason: str
) -> None:
    status, page = await post(supervisor, PAGE, {**TYPED, **change})
    assert status == 400
    beside = re.search(
        rf'<small class="error problem" role="alert" id="problem-{field}">([^<]*)</small>', page
    )
    assert beside, f"no reason beside {field}"
    assert reason in markup.unescape(beside.group(1))
    kept(page, {**TYPED, **change})
    listed = await (await supervisor.get("/api/v1/campaigns")).json()
    assert listed["campaigns"] == []


async def test_the_api_refuses_an_offer_outside_the_catalogue(
    client: Client, staff: Staff, people: dict[str, int]
) -> None:
    base = {"name": "Offer", "kind": "cross_sell", "messages": {"en": "{{ offer }}"}}
    for code in ("broadband-9999", "TV"):  # a typo; a product the catalogue does not offer
        refused = await client.post(
            "/api/v1/campaigns", json={**base, "offer_code": code}, headers=staff.supervisor
        )
        assert refused.status == 400
        body = await refused.json()
        assert (body["error"], body["details"]["field"]) == ("unknown-offer", "offer_code")
    created = await client.post(
        "/api/v1/campaigns", json={**base, "offer_code": OFFER}, headers=staff.supervisor
    )
    assert created.status == 201


async def test_the_preview_names_the_offer_as_customers_read_it(
    client: Client, staff: Staff, people: dict[str, int]
) -> None:
    created = await client.post(
        "/api/v1/campaigns",
        json={
            "name": "Offer",
            "kind": "cross_sell",
            "offer_code": OFFER,
            "messages": {"zh": "{{ name }}，推荐{{ offer }}", "en": "{{ name }}, meet {{ offer }}"},
            "start": False,
        },
        headers=staff.supervisor,
    )
    campaign_id = (await created.json())["campaign"]["id"]
    preview = await (
        await client.get(f"/api/v1/campaigns/{campaign_id}/preview", headers=staff.supervisor)
    ).json()
    texts = [text for sample in preview["samples"] for text in sample["texts"].values()]
    assert texts
    assert all(OFFER_NAME in text and OFFER not in text for text in texts)


async def test_the_count_is_that_of_the_moment(
    supervisor: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    """A customer who opts out drops out of the count at once (nothing is cached)."""
    assert await audience_count(supervisor, {"kind": "follow_up", "tiers": ["vip"]}) == 1
    async with sessions() as session:
        customer = await session.get(Customer, people["vip"])
        assert customer is not None
        customer.marketing_opt_out = True
        await session.commit()
    assert await audience_count(supervisor, {"kind": "follow_up", "tiers": ["vip"]}) == 0
