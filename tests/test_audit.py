"""The audit trail as a supervisor reads it: every read of a customer's data leaves an entry
that `GET /api/v1/audit` and `/supervisor/audit` show; agents may not look; nobody rewrites it."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.surveys import queue_survey
from storage.models import AuditEntry
from storage.models.base import utcnow
from storage.users import get_by_login
from tests.campaign_fixtures import populate
from tests.conftest import Staff
from tests.test_cli import contactdesk

Client = TestClient[web.Request, web.Application]


async def create(client: Client, staff: Staff, name: str, phone: str) -> int:
    response = await client.post(
        "/api/v1/customers", json={"name": name, "phones": [phone]}, headers=staff.supervisor
    )
    assert response.status == 201, await response.text()
    return int((await response.json())["id"])


async def trail(client: Client, staff: Staff, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit", params=params, headers=staff.supervisor)
    assert response.status == 200, await response.text()
    return list((await response.json())["entries"])


def who(entries: list[dict[str, Any]], action: str) -> list[tuple[str, str]]:
    return [(e["actor"], e["via"]) for e in entries if e["action"] == action]


async def test_a_profile_read_shows_in_the_trail_with_who_and_how(client: Client, staff: Staff) -> None:
    customer = await create(client, staff, "李强", "13800000002")
    assert (await client.get(f"/api/v1/customers/{customer}", headers=staff.agent)).status == 200
    entries = await trail(client, staff, customer_id=customer)
    assert set(entries[0]) == {"at", "actor", "action", "customer_id", "via", "details"}
    assert (entries[0]["actor"], entries[0]["via"], entries[0]["action"]) == (
        "agent1",
        "api",
        "customer.read",
    )
    assert entries[0]["customer_id"] == customer
    assert [e["action"] for e in entries] == ["customer.read", "customer.create"]  # newest first


async def test_a_complaint_list_leaves_one_entry_per_customer_shown(client: Client, staff: Staff) -> None:
    first = await create(client, staff, "甲", "13800000011")
    second = await create(client, staff, "乙", "13800000012")
    lodged: dict[int, list[int]] = {first: [], second: []}
    for customer in (first, first, second):
        response = await client.post(
            "/api/v1/complaints",
            json={"customer_id": customer, "category": "billing", "description": "charged twice"},
            headers=staff.agent,
        )
        lodged[customer].append((await response.json())["id"])
    assert (await client.get("/api/v1/complaints", headers=staff.agent2)).status == 200
    for customer in (first, second):
        [entry] = [
            e for e in await trail(client, staff, customer_id=customer) if e["action"] == "complaint.list"
        ]
        assert (entry["actor"], entry["via"]) == ("agent2", "api")
        assert sorted(entry["details"]["complaints"]) == sorted(lodged[customer])


async def test_reading_one_complaint_is_in_its_customers_trail(client: Client, staff: Staff) -> None:
    customer = await create(client, staff, "丙", "13800000013")
    response = await client.post(
        "/api/v1/complaints",
        json={"customer_id": customer, "category": "network", "description": "no signal"},
        headers=staff.agent,
    )
    complaint = await response.json()
    assert (await client.get(f"/api/v1/complaints/{complaint['id']}", headers=staff.agent2)).status == 200
    entries = await trail(client, staff, customer_id=customer)
    assert who(entries, "complaint.read") == [("agent2", "api")]
    assert entries[0]["details"] == {"ticket": complaint["ticket"]}


async def test_a_survey_list_is_in_each_customers_trail(client: Client, staff: Staff) -> None:
    customer = await create(client, staff, "丁", "13800000014")
    sent = await client.post(
        "/api/v1/surveys", json={"customer_id": customer, "kind": "nps"}, headers=staff.supervisor
    )
    survey = (await sent.json())["id"]
    assert (await client.get("/api/v1/surveys", headers=staff.agent)).status == 200
    [entry] = [e for e in await trail(client, staff, customer_id=customer) if e["action"] == "survey.list"]
    assert (entry["actor"], entry["via"], entry["details"]) == ("agent1", "api", {"surveys": [survey]})


async def test_a_campaign_preview_is_in_the_trail_of_each_customer_it_shows(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    people = await populate(sessions, utcnow())
    created = await client.post(
        "/api/v1/campaigns",
        json={
            "name": "draft",
            "kind": "follow_up",
            "messages": {"zh": "{{ name }}，您好", "en": "Hello {{ name }}"},
            "audience": {"tiers": ["preferred"]},
            "start": False,
        },
        headers=staff.supervisor,
    )
    campaign = (await created.json())["campaign"]["id"]
    preview = await client.get(f"/api/v1/campaigns/{campaign}/preview", headers=staff.admin)
    assert len((await preview.json())["samples"]) == 1
    entries = await trail(client, staff, customer_id=people["london"])
    assert [(e["actor"], e["via"], e["action"], e["details"]) for e in entries] == [
        ("admin", "api", "campaign.preview", {"campaigns": [campaign]})
    ]
    assert await trail(client, staff, customer_id=people["vip"]) == []


async def test_an_import_is_one_entry_naming_who_the_file_and_the_counts(
    client: Client, staff: Staff, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "spring.csv"
    path.write_text("name,phone\n王芳,13800000021\n李强,13800000022\nbad,not-a-phone\n", encoding="utf-8")
    result = contactdesk("import", "customers", str(path), database_url=database_url, cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # one bad row
    [entry] = await trail(client, staff, actor=f"cli:{getpass.getuser()}")
    assert (entry["via"], entry["action"], entry["customer_id"]) == ("import", "customer.import", None)
    assert entry["details"] == {
        "file": str(path),
        "created": 2,
        "updated": 0,
        "rejected": 1,
        "complete": True,
    }


async def test_agents_get_403_and_strangers_401_from_the_audit_api(client: Client, staff: Staff) -> None:
    agent = await client.get("/api/v1/audit", headers=staff.agent)
    assert agent.status == 403
    assert (await agent.json())["error"] == "forbidden"
    stranger = await client.get("/api/v1/audit")
    assert stranger.status == 401
    assert (await stranger.json())["error"] == "unauthenticated"
    assert (await client.get("/api/v1/audit", headers=staff.admin)).status == 200


async def _seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Entries at known moments: agent1 on customers 1 and 2, agent2 on customer 1."""
    async with sessions() as session:
        for day, actor, customer in ((1, "agent1", 1), (2, "agent2", 1), (3, "agent1", 2), (4, "agent1", 1)):
            session.add(
                AuditEntry(
                    at=datetime(2026, 1, day, 1, 0, tzinfo=UTC),
                    actor=actor,
                    via="api",
                    customer_id=customer,
                    action="customer.read",
                    subject_type="customer",
                    subject_id=str(customer),
                    details={"day": day},
                )
            )
        await session.commit()


async def test_the_trail_filters_by_customer_actor_time_and_count(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _seed(sessions)

    def days(entries: list[dict[str, Any]]) -> list[int]:
        return [e["details"]["day"] for e in entries]

    assert days(await trail(client, staff)) == [4, 3, 2, 1]
    assert days(await trail(client, staff, customer_id=1)) == [4, 2, 1]
    assert days(await trail(client, staff, actor="agent2")) == [2]
    assert days(await trail(client, staff, actor="agent1", customer_id=1)) == [4, 1]
    assert days(await trail(client, staff, since="2026-01-02T01:00:00Z")) == [4, 3, 2]
    assert days(await trail(client, staff, since="2026-01-03T08:59:00+08:00")) == [4, 3]
    assert days(await trail(client, staff, since="2026-01-03T01:00:01")) == [4]  # no offset: UTC
    assert days(await trail(client, staff, limit=2)) == [4, 3]
    [first] = await trail(client, staff, limit=1)
    assert first["at"] == "2026-01-04T01:00:00+00:00"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("customer_id", "³"),
        ("customer_id", "0"),
        ("customer_id", "-1"),
        ("customer_id", str(2**63)),
        ("customer_id", "9" * 5000),
        ("customer_id", "1.5"),
        ("limit", "0"),
        ("limit", "1001"),
        ("limit", "ten"),
        ("since", "yesterday"),
        ("since", "0001-01-01T00:00:00+23:59"),
        ("actor", "x" * 129),
        ("actor", "agent1\x00"),
    ],
)
async def test_a_bad_filter_gets_a_400_that_names_it(
    client: Client, staff: Staff, name: str, value: str
) -> None:
    response = await client.get("/api/v1/audit", params={name: value}, headers=staff.supervisor)
    assert response.status == 400
    body = await response.json()
    assert (body["error"], body["details"]["field"]) == ("invalid-input", name)


async def test_the_largest_customer_id_is_a_valid_filter(client: Client, staff: Staff) -> None:
    assert await trail(client, staff, customer_id=str(2**63 - 1), limit="1000") == []


async def test_the_audit_api_is_in_the_openapi_document(client: Client) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    operation = document["paths"]["/audit"]["get"]
    parameters = {p["name"]: p["schema"] for p in operation["parameters"]}
    assert parameters["customer_id"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
    assert parameters["limit"]["maximum"] == 1000
    assert set(operation["responses"]) == {"200", "400", "401", "403", "503"}


async def test_the_audit_page_shows_entries_in_the_operators_time_zone(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _seed(sessions)
    page = await client.get("/supervisor/audit", params={"customer_id": "2"}, headers=staff.supervisor)
    assert page.status == 200
    html = await page.text()
    assert "Times are in Asia/Shanghai" in html
    rows = html.split('id="entries"')[1]
    assert "<td>2026-01-03 09:00:00</td>" in rows  # 01:00 UTC
    assert "<td>agent1</td>" in rows
    assert "<td>agent2</td>" not in rows
    # the form's local time is the operator's clock: 09:00 in Shanghai is 01:00 UTC
    later = await client.get(
        "/supervisor/audit", params={"since": "2026-01-02T09:00:01"}, headers=staff.supervisor
    )
    rows = (await later.text()).split('id="entries"')[1]
    assert "2026-01-04 09:00:00" in rows
    assert "2026-01-03 09:00:00" in rows
    assert "2026-01-02 09:00:00" not in rows


async def test_the_audit_page_is_for_supervisors_and_admins_only(client: Client, staff: Staff) -> None:
    assert (await client.get("/supervisor/audit", headers=staff.agent)).status == 403
    stranger = await client.get("/supervisor/audit", allow_redirects=False)
    assert (stranger.status, stranger.headers["Location"]) == (303, "/login?next=/supervisor/audit")
    assert (await client.get("/supervisor/audit", headers=staff.admin)).status == 200


async def test_a_bad_filter_on_the_page_says_what_is_wrong(client: Client, staff: Staff) -> None:
    page = await client.get("/supervisor/audit", params={"customer_id": "abc"}, headers=staff.supervisor)
    assert page.status == 400
    assert "customer_id is a whole number" in await page.text()


async def test_an_agent_cannot_answer_a_survey_that_rates_them(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer = await create(client, staff, "戊", "13800000015")
    async with sessions() as session:
        agent = await get_by_login(session, "agent1")
        assert agent is not None
        survey = await queue_survey(
            session, customer_id=customer, kind="csat", trigger="call", channel="phone", agent_id=agent.id
        )
        await session.commit()
    own = await client.post(f"/api/v1/surveys/{survey.id}/answer", json={"score": 5}, headers=staff.agent)
    assert own.status == 403
    assert (await own.json())["error"] == "self-rating"
    other = await client.post(f"/api/v1/surveys/{survey.id}/answer", json={"score": 3}, headers=staff.agent2)
    assert other.status == 200
    assert (await other.json())["score"] == 3
    assert who(await trail(client, staff, customer_id=customer), "survey.answer") == [("agent2", "api")]


async def test_an_agent_may_not_link_an_identity_and_a_supervisors_link_is_audited(
    client: Client, staff: Staff
) -> None:
    customer = await create(client, staff, "己", "13800000016")
    for kind, value in (("telegram", "424242"), ("email", "me@example.com"), ("phone", "13900000016")):
        refused = await client.post(
            f"/api/v1/customers/{customer}/identities",
            json={"kind": kind, "value": value},
            headers=staff.agent,
        )
        assert refused.status == 403
        assert (await refused.json())["error"] == "forbidden"
    linked = await client.post(
        f"/api/v1/customers/{customer}/identities",
        json={"kind": "telegram", "value": "424242"},
        headers=staff.supervisor,
    )
    assert linked.status == 200
    [entry] = [e for e in await trail(client, staff, customer_id=customer) if e["action"] == "customer.link"]
    assert (entry["actor"], entry["via"], entry["details"]["kind"]) == ("supervisor", "api", "telegram")


async def test_on_postgresql_the_trail_cannot_be_changed_or_erased(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the append-only trigger is PostgreSQL's")
    await create(client, staff, "庚", "13800000017")
    for statement in ("UPDATE audit_log SET actor = 'nobody'", "DELETE FROM audit_log"):
        async with sessions() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement))
    assert len(await trail(client, staff)) == 1
