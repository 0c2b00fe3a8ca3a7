"""Reports on a read replica (CONTACTDESK_REPORTS_DATABASE_URL, docs/scale.md): the reads that
aggregate history go to the replica, the live figures and a customer's card to the primary.

The "replica" here is a second PostgreSQL database holding other figures than the primary, so
each page shows which one it read; it refuses every write (`default_transaction_read_only`,
set on the database as on a hot standby), so a report path that wrote would fail."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import Settings
from handlers import questionnaires, surveys
from handlers.accounts import issue_token, save_user
from handlers.customers import NewCustomer, create_customer
from handlers.questionnaires import Given
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_sync
from storage.models import InboxConversation
from storage.models.base import utcnow
from tests.conftest import Staff, create_postgres_database, drop_postgres_database
from tests.test_customers_api import Client


async def seed(sessions: async_sessionmaker[AsyncSession], who: str, csat: tuple[int, ...]) -> int:
    """One customer per CSAT score, each also answering the yearly survey (scored the same,
    with a word naming the database), and a chat waiting in `{who}-queue`. Returns the first
    customer's id."""
    now = utcnow()
    async with sessions() as session:
        yearly = (await questionnaires.ensure_templates(session))["yearly"]
        ids = []
        for n, score in enumerate(csat):
            customer = await create_customer(
                session, None, NewCustomer(name=f"{who} customer {n}", phones=(f"1380000{n:04d}",))
            )
            ids.append(customer.id)
            sent = await surveys.send_survey(
                session,
                customer_id=customer.id,
                kind="csat",
                trigger="call",
                channel="phone",
                now=now - timedelta(days=1),
            )
            await surveys.answer(session, sent.id, score)
            quest = await surveys.send_survey(
                session,
                customer_id=customer.id,
                kind="quest",
                trigger="periodic",
                channel="api",
                questionnaire_id=yearly,
            )
            found = await questionnaires.progress(session, quest.id)
            service, *_, words = found.questionnaire.questions
            for question, given in ((service, Given(value=score)), (words, Given(text=f"{who} words"))):
                await questionnaires.answer(session, quest.id, question.id, given, channel="agent")
        session.add(
            InboxConversation(
                customer_id=ids[0], address="1", queue=f"{who}-queue", created_at=now - timedelta(hours=1)
            )
        )
        await session.commit()
    return ids[0]


@pytest.fixture
def replica_database(postgres_server: str) -> Iterator[str]:
    url = create_postgres_database(postgres_server)
    upgrade_sync(url)
    yield url
    drop_postgres_database(postgres_server, url)


@pytest.fixture
async def replica(replica_database: str) -> str:
    """The replica's own figures (CSAT 5 and 4), then read-only for every new connection."""
    engine = create_engine(replica_database)
    try:
        await seed(create_sessionmaker(engine), "replica", (5, 4))
        name = make_url(replica_database).database
        async with engine.begin() as connection:
            await connection.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    finally:
        await engine.dispose()
    engine = create_engine(replica_database)  # new connections: read-only from the start
    try:
        with pytest.raises(DBAPIError, match="read-only transaction"):
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE written_on_the_replica (id int)"))
    finally:
        await engine.dispose()
    return replica_database


@pytest.fixture
async def desk(
    postgres_database: str, replica: str, sessions: async_sessionmaker[AsyncSession], staff: Staff
) -> AsyncIterator[tuple[Client, int]]:
    """The app on the primary (CSAT 1, the users and their tokens) with its reports on the
    replica; and the id of the primary's customer."""
    customer_id = await seed(sessions, "primary", (1,))
    settings = Settings(database_url=postgres_database, reports_database_url=replica)
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client, customer_id


@pytest.fixture
def database_url(postgres_database: str) -> str:
    """The primary: the shared fixtures (tables emptied, staff) on PostgreSQL only."""
    return postgres_database


@pytest.mark.postgres
async def test_the_report_api_reads_the_replica_and_the_live_figures_and_a_card_the_primary(
    desk: tuple[Client, int], staff: Staff
) -> None:
    client, customer_id = desk
    response = await client.get("/api/v1/reports/satisfaction", headers=staff.supervisor)
    assert response.status == 200, await response.text()
    [overall] = (await response.json())["rows"]
    assert (overall["csat_responses"], overall["csat_average"]) == (2, 4.5)

    response = await client.get("/api/v1/reports/conversations?group_by=queue", headers=staff.supervisor)
    assert response.status == 200, await response.text()
    assert [row["group"] for row in (await response.json())["rows"]] == ["replica-queue"]

    yearly = await yearly_id(client, staff)
    response = await client.get(f"/api/v1/reports/questionnaires/{yearly}", headers=staff.supervisor)
    assert response.status == 200, await response.text()
    found = await response.json()
    assert found["surveys"] == {"sent": 2, "started": 2, "finished": 0}
    service, *_, words = found["questions"]
    assert (service["answers"], service["mean"]) == (2, 4.5)
    assert [t["text"] for t in words["latest"]] == ["replica words", "replica words"]

    response = await client.get(
        f"/api/v1/reports/questionnaires/{yearly}", params={"format": "csv"}, headers=staff.supervisor
    )
    assert response.status == 200
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    service_text = "How satisfied are you with the quality of our service?"
    assert ["all", "", "1", service_text, "scale5", "5", "1", "4.5"] in rows
    assert ["all", "", "1", service_text, "scale5", "1", "0", "4.5"] in rows

    # Today's floor, read every few seconds, where a replica's lag would show.
    response = await client.get("/api/v1/reports/live", headers=staff.supervisor)
    assert response.status == 200, await response.text()
    live = await response.json()
    assert [q["queue"] for q in live["queues"]] == ["primary-queue"]
    assert {a["login"] for a in live["agents"]} >= {"agent1", "agent2"}

    # The card writes its audit entry in the same transaction: the replica would refuse it.
    response = await client.get(f"/api/v1/customers/{customer_id}", headers=staff.agent)
    assert response.status == 200, await response.text()
    assert (await response.json())["name"] == "primary customer 0"
    response = await client.get(f"/api/v1/audit?customer_id={customer_id}", headers=staff.supervisor)
    assert "customer.read" in [e["action"] for e in (await response.json())["entries"]]


@pytest.mark.postgres
async def test_the_supervisor_report_pages_show_the_replica_and_the_wallboard_the_primary(
    desk: tuple[Client, int], staff: Staff
) -> None:
    client, _ = desk
    response = await client.get("/supervisor/satisfaction", headers=staff.supervisor)
    assert response.status == 200, await response.text()
    page = await response.text()
    assert "CSAT and NPS are at or above target." in page  # the primary's CSAT 1 would be below
    assert "replica-queue" in page
    assert "primary-queue" not in page

    yearly = await yearly_id(client, staff)
    response = await client.get(f"/supervisor/satisfaction/questionnaires/{yearly}", headers=staff.supervisor)
    assert response.status == 200, await response.text()
    page = await response.text()
    assert "Sent 2 · begun 2 · finished 0" in page
    assert "replica words" in page
    assert "primary words" not in page

    response = await client.get("/supervisor", headers=staff.supervisor)
    assert response.status == 200, await response.text()
    page = await response.text()
    assert "primary-queue" in page
    assert "replica-queue" not in page


async def yearly_id(client: Client, staff: Staff) -> int:
    """The shipped yearly survey's id (the list writes it on first use: on the primary)."""
    response = await client.get("/api/v1/questionnaires", headers=staff.supervisor)
    assert response.status == 200, await response.text()
    [found] = [q["id"] for q in (await response.json())["questionnaires"] if q["key"] == "yearly"]
    return int(found)


def test_a_reports_database_that_is_not_postgresql_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="PostgreSQL replica"):
        Settings(reports_database_url="sqlite+aiosqlite:///replica.db")


async def test_on_sqlite_the_reports_url_is_ignored_with_a_word_at_start_and_the_reports_still_served(
    sqlite_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Like the events URL: one SQLite file has no replica, so nothing connects to the URL
    (an address nobody answers: a report reading it would fail)."""
    settings = Settings(database_url=sqlite_database, reports_database_url="postgresql://nobody@192.0.2.1/x")
    engine = create_engine(sqlite_database)
    sessions = create_sessionmaker(engine)
    try:
        await seed(sessions, "primary", (3,))
        async with sessions() as session:
            await save_user(session, "supervisor", "pw-supervisor", role="supervisor")
            headers = {"Authorization": f"Bearer {await issue_token(session, 'supervisor')}"}
    finally:
        await engine.dispose()
    with caplog.at_level(logging.WARNING, logger="callcenter.bootstrap"):
        async with TestClient(TestServer(create_app(settings))) as client:
            response = await client.get("/api/v1/reports/satisfaction", headers=headers)
            assert response.status == 200, await response.text()
            [overall] = (await response.json())["rows"]
            assert (overall["csat_responses"], overall["csat_average"]) == (1, 3.0)
    assert "CONTACTDESK_REPORTS_DATABASE_URL ignored: SQLite has no replica to read" in caplog.text
