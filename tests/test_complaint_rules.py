"""Property: no sequence of actions, by anyone, leaves the states the rules allow, and every
state change leaves an event. Runs the real use cases on a SQLite database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from handlers import complaints
from handlers.accounts import save_user
from handlers.complaints import ComplaintPolicy
from handlers.customers import NewCustomer, create_customer
from handlers.errors import DomainError
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_sync

POLICY = ComplaintPolicy()  # the default rules, passed as every adapter passes its own

ALLOWED_STATES = set(complaints.STATES)
ROLES = ("agent", "supervisor", "admin")


def test_no_sequence_of_actions_breaks_the_lifecycle(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'rules.db'}"
    upgrade_sync(url)
    loop = asyncio.new_event_loop()
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)

    async def prepare() -> tuple[int, dict[str, object]]:
        async with sessions() as session:
            customer = await create_customer(session, None, NewCustomer(name="p", phones=("13800000001",)))
            users = {role: await save_user(session, role, "pw", role=role) for role in ROLES}
        return customer.id, users

    customer_id, users = loop.run_until_complete(prepare())

    class Lifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.complaint_id = loop.run_until_complete(self._lodge())
            self.changes = 0  # state changes we caused, to compare with the trail

        async def _lodge(self) -> int:
            async with sessions() as session:
                lodged = await complaints.lodge(
                    session,
                    customer_id=customer_id,
                    category="service",
                    description="d",
                    channel="api",
                    policy=POLICY,
                )
                return lodged.id

        def _state(self) -> tuple[str, int]:
            async def read() -> tuple[str, int]:
                async with sessions() as session:
                    detail = await complaints.get(session, self.complaint_id)
                moves = sum(1 for e in detail.events if e.kind == "transition")
                return detail.complaint.state, moves

            return loop.run_until_complete(read())

        @rule(role=st.sampled_from(ROLES), to=st.sampled_from(complaints.STATES), with_text=st.booleans())
        def staff_moves(self, role: str, to: str, with_text: bool) -> None:
            before, _ = self._state()

            async def act() -> None:
                async with sessions() as session:
                    await complaints.transition(
                        session,
                        users[role],
                        self.complaint_id,
                        to,  # type: ignore[arg-type]
                        resolution="done" if with_text else None,
                        policy=POLICY,
                    )

            try:
                loop.run_until_complete(act())
            except DomainError:
                assert self._state()[0] == before  # a refused move changes nothing
                return
            assert (before, to) in complaints.TRANSITIONS
            assert role in complaints.TRANSITIONS[(before, to)]
            self.changes += 1

        @rule(satisfied=st.booleans())
        def customer_answers(self, satisfied: bool) -> None:
            before, _ = self._state()

            async def act() -> None:
                async with sessions() as session:
                    await complaints.customer_satisfied(
                        session, customer_id, self.complaint_id, satisfied, policy=POLICY
                    )

            try:
                loop.run_until_complete(act())
            except DomainError:
                assert self._state()[0] == before
                return
            assert before == "resolved"
            self.changes += 1

        @invariant()
        def state_is_allowed_and_every_change_is_in_the_trail(self) -> None:
            state, moves = self._state()
            assert state in ALLOWED_STATES
            assert moves == self.changes

    try:
        run_state_machine_as_test(
            Lifecycle,
            settings=settings(
                max_examples=25,
                stateful_step_count=12,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()


@pytest.mark.parametrize(
    ("state", "role", "expected"),
    [
        ("received", "agent", ["acknowledged"]),
        ("resolved", "agent", []),
        ("resolved", "supervisor", ["closed", "reopened"]),
        ("reopened", "agent", ["investigating"]),
        ("closed", "admin", []),
    ],
)
def test_each_role_is_offered_only_its_moves(state: str, role: str, expected: list[str]) -> None:
    assert complaints.allowed_moves(state, role) == expected
