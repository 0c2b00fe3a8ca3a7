"""A complaint's life through the API, as agents, supervisors and the customer see it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import OutboxMessage, Survey
from tests.conftest import Staff
from tests.test_customers_api import Client, create


async def lodge(client: Client, staff: Staff, customer_id: int, **extra: Any) -> dict[str, Any]:
    body = {"customer_id": customer_id, "category": "network", "description": "no signal at home", **extra}
    response = await client.post("/api/v1/complaints", json=body, headers=staff.agent)
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def move(client: Client, headers: dict[str, str], complaint_id: int, to: str, **extra: Any) -> Any:
    return await client.post(
        f"/api/v1/complaints/{complaint_id}/transition", json={"to": to, **extra}, headers=headers
    )


async def outbox(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sessions() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def test_a_complaint_goes_round_until_the_customer_is_satisfied(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer = await create(
        client, staff, name="Emily", phones=["13800000003"], telegram_id="777", language="en"
    )
    complaint = await lodge(client, staff, customer["id"])
    assert complaint["ticket"].startswith("CD-")
    assert complaint["ticket"].endswith(f"{complaint['id']:06d}")
    assert complaint["state"] == "received"
    assert complaint["acknowledge_due_at"] < complaint["resolve_due_at"]
    cid = complaint["id"]

    for to in ("acknowledged", "investigating"):
        assert (await move(client, staff.agent, cid, to)).status == 200
    no_text = await move(client, staff.agent, cid, "resolved")
    assert no_text.status == 400
    assert "resolution" in (await no_text.json())["message"]
    resolved = await move(client, staff.agent, cid, "resolved", resolution="replaced the router")
    assert (await resolved.json())["state"] == "resolved"

    unhappy = await client.post(
        f"/api/v1/complaints/{cid}/satisfaction", json={"satisfied": False}, headers=staff.agent
    )
    reopened = await unhappy.json()
    assert reopened["state"] == "reopened"
    assert reopened["reopen_count"] == 1

    assert (await move(client, staff.agent, cid, "investigating")).status == 200
    assert (await move(client, staff.agent, cid, "resolved", resolution="new fibre line")).status == 200
    happy = await client.post(
        f"/api/v1/complaints/{cid}/satisfaction", json={"satisfied": True}, headers=staff.agent
    )
    assert (await happy.json())["state"] == "closed"

    detail = await (await client.get(f"/api/v1/complaints/{cid}", headers=staff.supervisor)).json()
    trail = [(e["from_state"], e["to_state"]) for e in detail["events"]]
    assert trail == [
        (None, "received"),
        ("received", "acknowledged"),
        ("acknowledged", "investigating"),
        ("investigating", "resolved"),
        ("resolved", "reopened"),
        ("reopened", "investigating"),
        ("investigating", "resolved"),
        ("resolved", "closed"),
    ]
    assert detail["events"][4]["actor_kind"] == "customer"

    messages = [m for m in await outbox(sessions) if m.kind != "csat_survey"]
    assert [m.template for m in messages] == [
        "complaint_received",
        "complaint_acknowledged",
        "complaint_investigating",
        "complaint_resolved",
        "complaint_reopened",
        "complaint_investigating",
        "complaint_resolved",
        "complaint_closed",
    ]
    assert {m.status for m in messages} == {"pending"}
    assert {(m.channel, m.address, m.language) for m in messages} == {("telegram", "777", "en")}
    assert messages[3].kind == "satisfaction_question"
    # closing asks for a CSAT score about the complaint
    async with sessions() as session:
        survey = (await session.execute(select(Survey))).scalar_one()
    assert (survey.kind, survey.complaint_id) == ("csat", cid)


async def test_a_customer_we_cannot_reach_is_recorded_not_dropped(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer = await create(client, staff, name="张伟", phones=["13800000004"])
    complaint = await lodge(client, staff, customer["id"])
    [message] = await outbox(sessions)
    assert (message.status, message.template) == ("unreachable", "complaint_received")
    detail = await (await client.get(f"/api/v1/complaints/{complaint['id']}", headers=staff.agent)).json()
    assert any("no reachable channel" in (e["note"] or "") for e in detail["events"])


async def test_the_rules_refuse_a_jump_and_say_what_is_allowed(client: Client, staff: Staff) -> None:
    customer = await create(client, staff, name="a", phones=["13800000005"])
    complaint = await lodge(client, staff, customer["id"])
    jump = await move(client, staff.agent, complaint["id"], "resolved", resolution="x")
    assert jump.status == 409
    body = await jump.json()
    assert body["details"]["allowed"] == ["acknowledged"]


async def test_an_agent_may_not_close_a_complaint_over_the_customers_head(
    client: Client, staff: Staff
) -> None:
    customer = await create(client, staff, name="b", phones=["13800000006"])
    cid = (await lodge(client, staff, customer["id"]))["id"]
    for to, extra in (("acknowledged", {}), ("investigating", {}), ("resolved", {"resolution": "done"})):
        assert (await move(client, staff.agent, cid, to, **extra)).status == 200
    assert (await move(client, staff.agent, cid, "closed")).status == 403
    assert (await move(client, staff.supervisor, cid, "closed")).status == 200


async def test_bad_complaints_get_a_clear_400(client: Client, staff: Staff) -> None:
    customer = await create(client, staff, name="c", phones=["13800000007"])
    unknown = await client.post(
        "/api/v1/complaints",
        json={"customer_id": customer["id"], "category": "weather", "description": "rain"},
        headers=staff.agent,
    )
    assert unknown.status == 400
    assert "network" in (await unknown.json())["details"]["allowed"]
    empty = await client.post(
        "/api/v1/complaints",
        json={"customer_id": customer["id"], "category": "billing", "description": "  "},
        headers=staff.agent,
    )
    assert empty.status == 400
    nobody = await client.post(
        "/api/v1/complaints",
        json={"customer_id": 99999, "category": "billing", "description": "x"},
        headers=staff.agent,
    )
    assert nobody.status == 404


async def test_the_profile_lists_the_customers_complaints(client: Client, staff: Staff) -> None:
    customer = await create(client, staff, name="d", phones=["13800000008"])
    complaint = await lodge(client, staff, customer["id"], severity="urgent")
    profile = await (await client.get(f"/api/v1/customers/{customer['id']}", headers=staff.agent)).json()
    assert [(c["ticket"], c["severity"]) for c in profile["complaints"]] == [(complaint["ticket"], "urgent")]


async def test_a_survey_takes_one_answer_and_refuses_a_second_politely(client: Client, staff: Staff) -> None:
    customer = await create(client, staff, name="e", phones=["13800000009"], telegram_id="4242")
    sent = await client.post(
        "/api/v1/surveys", json={"customer_id": customer["id"], "kind": "nps"}, headers=staff.supervisor
    )
    survey = await sent.json()
    out_of_range = await client.post(
        f"/api/v1/surveys/{survey['id']}/answer", json={"score": 11}, headers=staff.agent
    )
    assert out_of_range.status == 400
    assert "0 to 10" in (await out_of_range.json())["message"]
    first = await client.post(
        f"/api/v1/surveys/{survey['id']}/answer", json={"score": 9, "comment": "fast"}, headers=staff.agent
    )
    assert (await first.json())["score"] == 9
    second = await client.post(
        f"/api/v1/surveys/{survey['id']}/answer", json={"score": 2}, headers=staff.agent
    )
    assert second.status == 409
    body = await second.json()
    assert body["error"] == "already-answered"
    assert "thank you" in body["message"]


async def test_a_survey_for_a_customer_that_does_not_exist_is_a_404(client: Client, staff: Staff) -> None:
    response = await client.post(
        "/api/v1/surveys", json={"customer_id": 987654, "kind": "csat"}, headers=staff.supervisor
    )
    assert response.status == 404
    assert (await response.json())["error"] == "not-found"
