"""A supervisor's campaign text renders within a budget: what they and the customers see.

Through the real app with its workers (the `desk` of test_campaigns_api), on both databases.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

import pytest
from aiohttp import ClientResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import CampaignTarget
from tests.conftest import Staff
from tests.telegram_standin import BotApiStandIn
from tests.test_campaigns_api import ALL_DAY, PBX, Client, api, desk, wait_for

__all__ = ["api", "desk"]  # fixtures shared with test_campaigns_api

# Two nested loops, as in the review: 25 million turns.
NESTED = "{% for i in range(5000) %}{% for j in range(5000) %}{% endfor %}{% endfor %}Hello {{ name }}"


async def timed(request: Awaitable[ClientResponse]) -> tuple[int, dict[str, Any], float]:
    started = time.perf_counter()
    response = await request
    body = await response.json()
    return response.status, body, time.perf_counter() - started


async def while_healthz_is_asked(
    desk: Client, request: Awaitable[ClientResponse]
) -> tuple[int, dict[str, Any], float, float]:
    """Send `request`, ask /healthz while it is in flight; both answers and their times."""
    task = asyncio.create_task(timed(request))
    await asyncio.sleep(0.01)  # the request is being handled
    health_status, _, health_seconds = await timed(desk.get("/healthz"))
    assert health_status == 200
    status, body, seconds = await task
    return status, body, seconds, health_seconds


def follow_up(text: str, **extra: Any) -> dict[str, Any]:
    return {"name": "loops", "kind": "follow_up", "messages": {"en": text}, "schedule": ALL_DAY, **extra}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (NESTED, "range() over 1000 items"),
        (
            "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
            "more than 10000 steps",
        ),
    ],
)
async def test_a_text_with_nested_loops_is_refused_within_3_s_while_healthz_answers_within_1_s(
    desk: Client, staff: Staff, text: str, reason: str
) -> None:
    create = desk.post("/api/v1/campaigns", json=follow_up(text), headers=staff.supervisor)
    status, body, seconds, health_seconds = await while_healthz_is_asked(desk, create)

    assert status == 400
    assert body["error"] == "template-over-budget"
    assert reason in body["message"]
    assert body["message"].startswith("the en message is over its budget")
    assert seconds < 3
    assert health_seconds < 1


async def test_a_preview_that_loops_for_a_real_customer_is_refused_within_3_s_while_healthz_answers(
    desk: Client, staff: Staff
) -> None:
    # Fine for the sample customer at creation; the loop only runs for a real one.
    text = "{% if name == 'Customer london' %}" + NESTED + "{% endif %}Hello {{ name }}"
    created = await desk.post(
        "/api/v1/campaigns",
        json=follow_up(text, audience={"tiers": ["preferred"]}, start=False),
        headers=staff.supervisor,
    )
    assert created.status == 201
    campaign_id = (await created.json())["campaign"]["id"]

    preview = desk.get(f"/api/v1/campaigns/{campaign_id}/preview", headers=staff.supervisor)
    status, body, seconds, health_seconds = await while_healthz_is_asked(desk, preview)

    assert status == 400
    assert body["message"] == "the message is over its budget: range() over 1000 items"
    assert seconds < 3
    assert health_seconds < 1


async def test_a_text_longer_than_a_telegram_message_is_refused(desk: Client, staff: Staff) -> None:
    text = "{% for i in range(300) %}{{ name }} {% endfor %}"  # 300 × "Sample Customer "
    created = await desk.post("/api/v1/campaigns", json=follow_up(text), headers=staff.supervisor)
    assert created.status == 400
    body = await created.json()
    assert (
        body["message"] == "the en message is over its budget: the template renders more than 4096 characters"
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{{ 'x' * 10**9 }}", "a value over 16384 characters"),
        ("{{ 2 ** 100000 }}", "a number over 1000 digits"),
        ("{{ 'x'|center(10**9) }}", "a width or count over 16384"),
        ("{{ '%0999999999d' % 1 }}", "a width or count over 16384"),
    ],
)
async def test_oversize_values_are_refused_when_the_campaign_is_created(
    desk: Client, staff: Staff, text: str, reason: str
) -> None:
    created = await desk.post("/api/v1/campaigns", json=follow_up(text), headers=staff.supervisor)
    assert created.status == 400
    assert (await created.json())["message"] == f"the en message is over its budget: {reason}"


async def test_an_ordinary_text_with_loops_and_filters_still_previews(desk: Client, staff: Staff) -> None:
    text = (
        "{{ name|upper }} ({{ tier|title }}):"
        "{% for item in ['fiber', 'tv'] %} {{ loop.index }}. {{ item|capitalize }}{% endfor %}"
        " — {{ '%.1f'|format(4.25) }}, {{ 'ok' ~ '!' * 2 }}"
    )
    created = await desk.post(
        "/api/v1/campaigns",
        json=follow_up(text, audience={"tiers": ["preferred"]}, start=False),
        headers=staff.supervisor,
    )
    assert created.status == 201
    campaign_id = (await created.json())["campaign"]["id"]
    preview = await desk.get(f"/api/v1/campaigns/{campaign_id}/preview", headers=staff.supervisor)
    assert preview.status == 200
    [sample] = (await preview.json())["samples"]
    assert sample["texts"]["en"] == "CUSTOMER LONDON (Preferred): 1. Fiber 2. Tv — 4.2, ok!!"


async def test_a_text_over_budget_for_one_customer_fails_that_message_and_the_others_are_sent(
    desk: Client, api: BotApiStandIn, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    text = (
        "{% if name == 'Customer unhappy' %}{% for i in range(5000) %}x{% endfor %}{% endif %}Hi {{ name }}"
    )
    created = await desk.post(
        "/api/v1/campaigns",
        json={**follow_up(text), "messages": {"zh": text}, "audience": {"regions": ["beijing"]}},
        headers=staff.supervisor,
    )
    assert created.status == 201
    campaign_id = (await created.json())["campaign"]["id"]

    done = await wait_for(desk, campaign_id, staff.supervisor, "finished")
    assert done["progress"]["counts"] == {"sent": 2, "failed": 1}
    assert sorted(str(c.params["chat_id"]) for c in api.sent()) == ["9002", "9010"]
    async with sessions() as session:
        errors = (
            await session.execute(select(CampaignTarget.error).where(CampaignTarget.status == "failed"))
        ).scalars()
        assert list(errors) == ["render: range() over 1000 items"]


async def test_the_dialer_skips_a_customer_whose_script_is_over_budget(desk: Client, staff: Staff) -> None:
    text = (
        "{% if name == 'Customer vip' %}{% for i in range(5000) %}x{% endfor %}{% endif %}请致电 {{ name }}"
    )
    created = await desk.post(
        "/api/v1/campaigns",
        json={
            **follow_up(text),
            "channel": "dialer",
            "messages": {"zh": text},
            "audience": {"tiers": ["vip"]},
        },
        headers=staff.supervisor,
    )
    assert created.status == 201
    campaign_id = (await created.json())["campaign"]["id"]
    body: dict[str, Any] = {}
    for _ in range(100):  # the worker expands the campaign in the background
        body = await (await desk.get(f"/api/v1/campaigns/{campaign_id}", headers=staff.supervisor)).json()
        if body["progress"]["total"]:
            break
        await asyncio.sleep(0.05)

    assert (await desk.get("/api/v1/dialer/next", headers=PBX)).status == 204
    done = await wait_for(desk, campaign_id, staff.supervisor, "finished")
    assert done["progress"]["counts"] == {"failed": 1}
