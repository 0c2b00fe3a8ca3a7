"""Finding a customer from what a caller or a colleague gives: a name, a phone number in any
spelling, a Telegram id, an e-mail or a complaint ticket."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import customers
from handlers.errors import InvalidInput
from handlers.identities import KINDS, mask
from handlers.inputs import storable
from storage import customer_search as repo
from storage.audit import Actor, audit, audit_each_customer
from storage.customer_search import CustomerRow
from storage.users import UserRecord

PER_PAGE = 50
# Deep pages are an index walk of page × PER_PAGE entries: a name that needs more is
# better narrowed by typing more of it.
MAX_PAGE = 20
QUERY_LENGTH = 200  # a name column's size
TICKET = re.compile(r"[A-Z]{2}-\d{4}-\d+")  # CD-2026-000123, see storage/complaints.py


@dataclass(frozen=True)
class Found:
    """A page of customers. `exact` when an identity or a ticket matched (not a name): one
    such customer is the one the user is looking for."""

    rows: tuple[CustomerRow, ...]
    exact: bool
    page: int
    more: bool


async def _exact_ids(session: AsyncSession, query: str, region: str) -> tuple[list[int], str | None]:
    """Customers the query names outright, and how (for the audit: never the value itself)."""
    found: list[int] = []
    how = None
    if TICKET.fullmatch(query.upper()):
        owner = await repo.customer_of_ticket(session, query.upper())
        record = None if owner is None else await customers.resolve(session, owner)
        if record is not None:
            found.append(record.id)
        how = "ticket"
    for kind in KINDS:
        try:
            record = await customers.identify(session, kind, query, region=region)
        except InvalidInput:
            continue  # not a spelling of this kind
        how = how or kind
        if record is not None and record.id not in found:
            found.append(record.id)
    return found, how


async def search(
    session: AsyncSession, reader: UserRecord, query: str, *, page: int, region: str, via: str
) -> Found:
    """Identities and tickets first; a name prefix when none matches. Every customer shown
    gets an audit entry (a list of customers is a read of each)."""
    text = query.strip()
    if len(text) > QUERY_LENGTH or not storable(text):
        raise InvalidInput(f"a search is at most {QUERY_LENGTH} characters of text", field="q")
    if not 1 <= page <= MAX_PAGE:
        raise InvalidInput(f"page is from 1 to {MAX_PAGE}", field="page")
    exact, how = await _exact_ids(session, text, region)
    more = False
    if exact:
        ids = exact
    else:
        ids = await repo.ids_by_name(session, text, offset=(page - 1) * PER_PAGE, limit=PER_PAGE + 1)
        more = len(ids) > PER_PAGE
        ids = ids[:PER_PAGE]
    rows = tuple(await repo.rows(session, ids))
    actor = Actor.of(reader, via)
    details = {"by": how or "name", "page": page}
    if how in ("phone", "email"):
        details["value"] = mask(text)
    if rows:
        await audit_each_customer(
            session,
            actor=actor,
            action="customer.search",
            shown=[(row.id, row.id) for row in rows],
            key="shown",
            details=details,
        )
    else:
        await audit(
            session,
            actor=actor,
            action="customer.search",
            customer_id=None,
            subject_type="customer",
            subject_id="-",
            details=details,
        )
    await session.commit()
    return Found(rows=rows, exact=bool(exact), page=page, more=more)
