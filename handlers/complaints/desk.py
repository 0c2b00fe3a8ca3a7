"""Work on a complaint that is not a move of its state: giving it to an agent or a
department, and writing a note into its trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.complaints.policy import DEPARTMENTS
from handlers.errors import Conflict, Forbidden, InvalidInput, NotFound
from handlers.roles import MANAGERS
from storage import complaints as repo
from storage import users as users_repo
from storage.complaints import ComplaintView
from storage.models.base import utcnow
from storage.users import UserRecord

NOTE_LIMIT = 2000


def may_give_to(actor: UserRecord, assignee: UserRecord) -> bool:
    """An agent may take a complaint; a supervisor gives it to anyone active."""
    return assignee.active and (actor.role in MANAGERS or assignee.id == actor.id)


async def _open(session: AsyncSession, complaint_id: int) -> ComplaintView:
    complaint = await repo.get(session, complaint_id, lock=True)
    if complaint is None:
        raise NotFound("no such complaint", complaint_id=complaint_id)
    return complaint


async def add_note(
    session: AsyncSession, actor: UserRecord, complaint_id: int, text: str, *, now: datetime | None = None
) -> None:
    """A note for colleagues (never sent to the customer), kept in the complaint's trail."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise InvalidInput("write the note first", field="note")
    if len(cleaned) > NOTE_LIMIT:
        raise InvalidInput("a note is at most 2000 characters", field="note", limit=NOTE_LIMIT)
    complaint = await _open(session, complaint_id)
    await repo.add_event(
        session,
        complaint.id,
        at=now or utcnow(),
        kind="note",
        actor_kind="user",
        actor_id=actor.id,
        note=cleaned,
    )
    await session.commit()


async def assign(
    session: AsyncSession,
    actor: UserRecord,
    complaint_id: int,
    *,
    assignee_login: str | None,
    department: str,
    now: datetime | None = None,
) -> ComplaintView:
    """Give the complaint to a department and, optionally, one of its agents. An agent may
    take a complaint or hand it back to a department; a supervisor gives it to anyone."""
    if department not in DEPARTMENTS.values():
        raise InvalidInput(
            "unknown department", field="department", allowed=sorted(set(DEPARTMENTS.values()))
        )
    assignee = None
    if assignee_login:
        assignee = await users_repo.get_by_login(session, assignee_login)
        if assignee is None or not assignee.active:
            raise InvalidInput("no such agent", field="assignee")
        if not may_give_to(actor, assignee):
            raise Forbidden("only a supervisor gives a complaint to someone else")
    complaint = await _open(session, complaint_id)
    if complaint.state == "closed":
        raise Conflict("a closed complaint is not assigned", state=complaint.state)
    updated = await repo.assign(
        session, complaint.id, assignee_id=assignee.id if assignee else None, department=department
    )
    await repo.add_event(
        session,
        complaint.id,
        at=now or utcnow(),
        kind="assigned",
        actor_kind="user",
        actor_id=actor.id,
        note=" · ".join(part for part in (department, assignee.login if assignee else "") if part),
    )
    await session.commit()
    return updated
