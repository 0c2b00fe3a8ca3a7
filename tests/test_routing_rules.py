"""The routing decision itself: business hours, agent choice, rule files."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.errors import InvalidInput
from handlers.routing.route import route_call
from handlers.routing.rules import InboundCall, load_rules
from storage.routing import presence, queues
from tests.conftest import Staff
from tests.routing_fixtures import Callers, seed

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = load_rules()


@pytest.fixture
async def callers(sessions: async_sessionmaker[AsyncSession], staff: Staff) -> Callers:
    return await seed(sessions)


async def test_at_night_the_vip_line_overflows_and_the_general_queue_takes_callbacks(
    sessions: async_sessionmaker[AsyncSession], callers: Callers
) -> None:
    night = datetime(2026, 11, 25, 23, 30, tzinfo=SHANGHAI)
    async with sessions() as session:
        await queues.upsert_queue(session, "vip", opens="08:00", closes="22:00", overflow="general")
        await queues.upsert_queue(session, "general", opens="08:00", closes="22:00", overflow=None)
        await session.commit()
        vip = await route_call(session, InboundCall("n1", "13800000001"), RULES, now=night)
        day = await route_call(
            session, InboundCall("n2", "13800000001"), RULES, now=night.replace(hour=10) + timedelta(days=1)
        )
    assert (vip.action, vip.queue, vip.reason) == ("callback", None, "vip")
    assert day.queue in ("vip", "complaints")


async def test_the_longest_idle_agent_gets_the_call_and_a_full_agent_none(
    sessions: async_sessionmaker[AsyncSession], callers: Callers
) -> None:
    async with sessions() as session:
        first = await route_call(session, InboundCall("a1", "13800000002"), RULES)
        second = await route_call(session, InboundCall("a2", "13800000004"), RULES)
        third = await route_call(session, InboundCall("a3", "13800000005"), RULES)
    assert first.agent == "agent1"  # idle for ten minutes, agent2 for nine
    assert second.agent == "agent2"
    assert third.agent is None


async def test_an_english_speaker_only_gets_an_agent_who_speaks_english(
    sessions: async_sessionmaker[AsyncSession], callers: Callers
) -> None:
    async with sessions() as session:
        agent1 = next(s for s in await presence.agent_states(session) if s.login == "agent1")
        await presence.set_agent_state(session, agent1.user_id, "offline", datetime.now(SHANGHAI))
        await session.commit()
        english = await route_call(session, InboundCall("e1", "13800000003"), RULES)
    assert english.queue == "english"
    assert english.agent is None  # agent2 speaks only Chinese


def test_a_rule_file_with_an_unknown_condition_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\nname = "x"\nwhen = { moon = "full" }\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match="moon"):
        load_rules(str(path))


def test_a_custom_rule_file_can_route_by_dialled_number(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rule]]\nname = "hotline"\nwhen = { dialled = ["+864001234567"] }\nqueue = "vip"\npriority = 5\n'
        '[[rule]]\nname = "rest"\nqueue = "general"\n',
        encoding="utf-8",
    )
    rules = load_rules(str(path))
    assert [r.name for r in rules.rules] == ["hotline", "rest"]
