"""`GET /api/v1/reports/live` against a hand count: calls placed through the CTI webhook with
known times (each event says when it happened), read back as the supervisor's JSON.

The application's clock stands at 00:50 in Shanghai on 27 November, when UTC is still the
26th: a call at 23:59:50 local (the 26th in both zones) must not count, one at 00:00:10 local
(the 26th in UTC) must."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.keys import CLOCK
from callcenter.settings import Settings
from handlers.accounts import save_user
from handlers.customers import NewCustomer, create_customer
from storage.models import User
from storage.routing import presence, queues
from tests.conftest import Staff

TOKEN = "cti-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = datetime(2026, 11, 26, 16, 50, tzinfo=UTC)  # 00:50 on the 27th in Shanghai
MIDNIGHT = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)  # the 27th's first instant in Shanghai
VIP_PHONE = "13800000001"
SHANGHAI = ZoneInfo("Asia/Shanghai")
Client = TestClient[web.Request, web.Application]


def at(hour: int, minute: int, second: int = 0) -> datetime:
    """A moment on 26 November, UTC."""
    return datetime(2026, 11, 26, hour, minute, second, tzinfo=UTC)


@pytest.fixture
async def desk(settings: Settings) -> AsyncIterator[Client]:
    settings = settings.model_copy(
        update={"cti_token": TOKEN, "timezone": "Asia/Shanghai", "service_level_seconds": 20}
    )
    app = create_app(settings)
    app[CLOCK] = lambda: NOW
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
async def floor(sessions: async_sessionmaker[AsyncSession], staff: Staff) -> datetime:
    """agent1 (takes VIP calls), agent2, agent3 (never signed in), a supervisor who takes
    calls too; the queues general, complaints and english (vip is not configured). Returns
    agent3's account creation time: an agent who never had a state is offline since then."""
    async with sessions() as session:
        await create_customer(session, None, NewCustomer(name="vip", phones=(VIP_PHONE,), tier="vip"))
        for name in ("general", "complaints", "english"):
            await queues.upsert_queue(session, name)
        for login, skills in (("agent1", ("general", "vip")), ("agent2", ("general",))):
            user = await save_user(session, login, "pw", role="agent", skills=skills, languages=("zh",))
            await presence.set_agent_state(session, user.id, "available", NOW - timedelta(hours=1))
        await save_user(session, "agent3", "pw", role="agent")
        supervisor = (await session.execute(select(User).where(User.login == "supervisor"))).scalar_one()
        await presence.set_agent_state(session, supervisor.id, "available", NOW - timedelta(hours=2))
        await session.commit()
        created = (await session.execute(select(User.created_at).where(User.login == "agent3"))).scalar_one()
    return created


async def event(client: Client, kind: str, call_id: str, when: datetime | float, **extra: Any) -> None:
    stamp = when if isinstance(when, float) else when.astimezone(SHANGHAI).isoformat()
    body = {"event": kind, "call_id": call_id, "timestamp": stamp, **extra}
    response = await client.post("/telephony/cti", json=body, headers=AUTH)
    assert response.status == 200, await response.text()


async def call(
    client: Client,
    call_id: str,
    arrives: datetime,
    *,
    answered: datetime | None = None,
    agent: str | None = None,
    ends: datetime | None = None,
    caller: str | None = None,
    direction: str = "in",
    epoch: bool = False,
) -> None:
    """A call's events, each stamped with its own time: ISO with Shanghai's offset, or epoch
    seconds. An outbound call names its agent from the start."""

    def stamp(moment: datetime) -> datetime | float:
        return moment.timestamp() if epoch else moment

    number = caller or "1390000" + call_id.removeprefix("c").zfill(4)
    dialled = {"from": number, "to": "+862000000000", "direction": direction}
    if direction == "out" and agent:
        dialled["agent"] = agent
    await event(client, "newCall", call_id, stamp(arrives), **dialled)
    if answered is not None:
        await event(client, "answer", call_id, stamp(answered), **({"agent": agent} if agent else {}))
    if ends is not None:
        await event(client, "hangup", call_id, stamp(ends), cause="normalClearing")


async def live(client: Client, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/api/v1/reports/live", headers=headers)
    assert response.status == 200, await response.text()
    return dict(await response.json())


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


# No chat waits or is open in these tests (tests/test_chat_figures.py counts chats).
NO_CHATS = {"chats_waiting": 0, "longest_chat_wait_s": 0, "chats_open": 0}


def quiet(queue: str) -> dict[str, Any]:
    return {
        "queue": queue,
        "waiting": 0,
        "longest_wait_s": 0,
        "offered": 0,
        "answered": 0,
        "abandoned": 0,
        "service_level": None,
        "abandonment_rate": None,
        "avg_wait_s": None,
        "avg_handle_s": None,
        **NO_CHATS,
    }


async def test_every_figure_matches_the_hand_count(desk: Client, floor: datetime, staff: Staff) -> None:
    # Yesterday in Shanghai: an abandoned call in the afternoon, and one at 23:59:50 that
    # agent2 answers and that ends after midnight (still yesterday's: it arrived then).
    await call(desk, "c7", at(8, 0), ends=at(8, 0, 30))
    await call(desk, "c6", at(15, 59, 50), answered=at(15, 59, 52), agent="agent2", ends=at(16, 0, 30))
    # Today, 00:00:10 local (UTC still the 26th): waits exactly the threshold, 120 s talk.
    await call(desk, "c5", at(16, 0, 10), answered=at(16, 0, 30), agent="agent1", ends=at(16, 2, 30))
    # Answered fast (5 s wait, 60 s talk), sent as epoch seconds.
    await call(desk, "c1", at(16, 5), answered=at(16, 5, 5), agent="agent1", ends=at(16, 6, 5), epoch=True)
    # Answered late (40 s wait, 30 s talk).
    await call(desk, "c2", at(16, 20), answered=at(16, 20, 40), agent="agent2", ends=at(16, 21, 10))
    # Abandoned after 30 s.
    await call(desk, "c3", at(16, 31), ends=at(16, 31, 30))
    # A VIP: routing offers agent1, who answers in 3 s and is still talking (queue vip is not
    # configured, and shows because it was seen today).
    await call(desk, "c8", at(16, 40), answered=at(16, 40, 3), agent="agent1", caller=VIP_PHONE)
    # agent2 calls a customer back: outbound, counted nowhere here.
    await call(
        desk, "c9", at(16, 45), answered=at(16, 45, 5), agent="agent2", ends=at(16, 46), direction="out"
    )
    # Still waiting at 16:50: two minutes.
    await call(desk, "c4", at(16, 48))

    report = await live(desk, staff.supervisor)

    assert report["day"] == "2026-11-27"
    assert report["threshold_s"] == 20
    # general: offered c5 c1 c2 c3 c4 = 5; answered c5 c1 c2 = 3; abandoned c3 = 1; within
    # 20 s: c5 (20 s) and c1 (5 s) = 2 → 2/5; waits 20 + 5 + 40 = 65 → 21.7; talks
    # 120 + 60 + 30 = 210 → 70.0; waiting c4 since 16:48 → 120 s.
    general = {
        "queue": "general",
        "waiting": 1,
        "longest_wait_s": 120,
        "offered": 5,
        "answered": 3,
        "abandoned": 1,
        "service_level": 0.4,
        "abandonment_rate": 0.2,
        "avg_wait_s": 21.7,
        "avg_handle_s": 70.0,
        **NO_CHATS,
    }
    # vip: c8 only, answered in 3 s, not ended: no handle time yet.
    vip = {
        "queue": "vip",
        "waiting": 0,
        "longest_wait_s": 0,
        "offered": 1,
        "answered": 1,
        "abandoned": 0,
        "service_level": 1.0,
        "abandonment_rate": 0.0,
        "avg_wait_s": 3.0,
        "avg_handle_s": None,
        **NO_CHATS,
    }
    assert report["queues"] == [quiet("complaints"), quiet("english"), general, vip]

    agents = {a["login"]: a for a in report["agents"]}
    assert list(agents) == ["agent1", "agent2", "agent3", "supervisor"]  # not admin: no state, no agent
    # agent1: c5, c1, c8 handled; c5 and c1 ended: (120 + 60) / 2; busy since routing offered c8.
    assert (agents["agent1"]["state"], moment(agents["agent1"]["since"])) == ("busy", at(16, 40))
    assert (agents["agent1"]["handled"], agents["agent1"]["avg_handle_s"]) == (3, 90.0)
    # agent2: c2 only (c6 was yesterday's, c9 outbound); free since c9 ended.
    assert (agents["agent2"]["state"], moment(agents["agent2"]["since"])) == ("available", at(16, 46))
    assert (agents["agent2"]["handled"], agents["agent2"]["avg_handle_s"]) == (1, 30.0)
    assert (agents["agent3"]["state"], moment(agents["agent3"]["since"])) == ("offline", floor)
    assert (agents["agent3"]["handled"], agents["agent3"]["avg_handle_s"]) == (0, None)
    assert (agents["supervisor"]["state"], moment(agents["supervisor"]["since"])) == (
        "available",
        NOW - timedelta(hours=2),
    )
    assert (agents["supervisor"]["handled"], agents["supervisor"]["avg_handle_s"]) == (0, None)

    # Quarter hours from local midnight to now: 00:00 c5 c1 (waits 20, 5), 00:15 c2, 00:30
    # c3 (abandoned) and c8 (3 s), 00:45 c4 (waiting).
    assert report["intervals"] == [
        {
            "start": "2026-11-26T16:00:00+00:00",
            "offered": 2,
            "answered": 2,
            "abandoned": 0,
            "avg_wait_s": 12.5,
        },
        {
            "start": "2026-11-26T16:15:00+00:00",
            "offered": 1,
            "answered": 1,
            "abandoned": 0,
            "avg_wait_s": 40.0,
        },
        {
            "start": "2026-11-26T16:30:00+00:00",
            "offered": 2,
            "answered": 1,
            "abandoned": 1,
            "avg_wait_s": 3.0,
        },
        {
            "start": "2026-11-26T16:45:00+00:00",
            "offered": 1,
            "answered": 0,
            "abandoned": 0,
            "avg_wait_s": None,
        },
    ]


async def test_only_supervisors_and_admins_read_the_live_figures(desk: Client, staff: Staff) -> None:
    assert (await desk.get("/api/v1/reports/live")).status == 401
    refused = await desk.get("/api/v1/reports/live", headers=staff.agent)
    assert refused.status == 403
    report = await live(desk, staff.admin)
    # a quiet floor: no queue configured, no call, the staff fixture's two agents offline
    assert report["queues"] == []
    assert [(a["login"], a["state"], a["handled"]) for a in report["agents"]] == [
        ("agent1", "offline", 0),
        ("agent2", "offline", 0),
    ]
    assert len(report["intervals"]) == 4  # 00:00, 00:15, 00:30 and 00:45 in Shanghai


# Each refused event time, and what the refusal says.
REFUSED: list[tuple[Any, str]] = [
    ((NOW + timedelta(seconds=6)).isoformat(), "more than 5 seconds ahead"),
    ((NOW - timedelta(hours=24, seconds=1)).timestamp(), "more than 24 hours old"),
    ("2026-11-26T16:49:00", "with its offset"),  # no offset: whose 16:49?
    ("yesterday", "with its offset"),
    (True, "with its offset"),
    (1e300, "with its offset"),
]


async def test_an_event_time_out_of_bounds_or_unreadable_is_refused(
    desk: Client, floor: datetime, staff: Staff
) -> None:
    for stamp, message in REFUSED:
        body = {"event": "newCall", "call_id": "late", "from": "13900000001", "timestamp": stamp}
        response = await desk.post("/telephony/cti", json=body, headers=AUTH)
        assert response.status == 400, stamp
        answer = await response.json()
        assert message in answer["message"], stamp
        assert answer["details"] == {"field": "timestamp"}
    assert (await live(desk, staff.supervisor))["queues"][2]["offered"] == 0  # nothing was logged


async def test_a_late_retry_keeps_its_own_time_and_an_unstamped_event_takes_the_clocks(
    desk: Client, floor: datetime, staff: Staff
) -> None:
    # The PBX retried the answer 50 s late: the wait is still the 8 s it says.
    await call(desk, "late", NOW - timedelta(seconds=58))
    await event(desk, "answer", "late", NOW - timedelta(seconds=50), agent="agent1")
    # A form post from a Zammad script, with no time: it arrived now, and waits 0 s so far.
    form = {"event": "newCall", "callId": "now", "from": "13900000002", "to": "1", "direction": "in"}
    assert (await desk.post(f"/telephony/cti?token={TOKEN}", data=form)).status == 200
    # A time 4 s ahead (a PBX clock a little fast) is taken as it is.
    await call(desk, "ahead", NOW + timedelta(seconds=4))

    general = (await live(desk, staff.supervisor))["queues"][2]
    assert general["queue"] == "general"
    assert (general["offered"], general["answered"], general["avg_wait_s"]) == (3, 1, 8.0)
    assert (general["waiting"], general["longest_wait_s"]) == (2, 0)
