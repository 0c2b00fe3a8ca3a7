"""The caller's card for a call's screen pop, on PostgreSQL in one statement.

The ORM path (handlers/screen_pop.py) reads the card in about eleven round trips: the
contact, the customer with identities and holdings, the open complaints, the recent
contacts, the answered surveys, the offer's facts and its peers, the audit entry, the
commit. Here one prepared statement, sent straight through asyncpg on the session's
connection in autocommit mode, checks that the call was offered to the agent, reads all of
it as JSON and appends the audit entry of the read (only when the card shows a customer the
agent may see). Its rows come back as the tables' own rows (`to_jsonb`) and are turned into
the same views by the same functions as the ORM's (`complaint_view`, `_contact`,
`_to_record`), so the card is the ORM card: tests/test_screen_pop_card.py compares the two
on random customers and histories. SQLite keeps the ORM path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

from sqlalchemy import JSON, Date, Numeric
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession

from storage.complaints import OPEN_STATES, ComplaintView, complaint_view
from storage.customers import CustomerRecord, _to_record
from storage.models import Complaint, Contact, Customer, CustomerIdentity, Holding, Product, Survey
from storage.models.base import Base, UTCDateTime
from storage.offers import OfferFacts
from storage.routing.contact_log import ContactView, _contact
from storage.sign_in_checks import Credential, stands_sql
from storage.surveys import SurveyView
from storage.surveys import _view as survey_view

M = TypeVar("M", bound=Base)

_OPEN = ", ".join(f"'{state}'" for state in OPEN_STATES)

# What the card reads of customer `ok.customer_id`, as in the ORM path: the customer, their
# identities and holdings (with the product), up to 100 open complaints newest first, the six
# latest contacts (the call itself is dropped in Python, then five kept), the five latest
# answered surveys, the offer's facts (complaints not resolved or closed), and the peers of
# the catalogue's products, counted only when an offer may be made at all.
_CARD = f"""
    (SELECT to_jsonb(c) FROM customers c WHERE c.id = ok.customer_id) AS customer,
    (SELECT coalesce(jsonb_agg(to_jsonb(i) ORDER BY i.kind, i.id), '[]')
       FROM customer_identities i WHERE i.customer_id = ok.customer_id) AS identities,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('holding', to_jsonb(h), 'product', to_jsonb(p))
                               ORDER BY h.since, h.id), '[]')
       FROM holdings h JOIN products p ON p.id = h.product_id
       WHERE h.customer_id = ok.customer_id) AS holdings,
    (SELECT coalesce(jsonb_agg(to_jsonb(k) ORDER BY k.id DESC), '[]') FROM (
        SELECT * FROM complaints k WHERE k.customer_id = ok.customer_id AND k.state IN ({_OPEN})
        ORDER BY k.id DESC LIMIT 100) k) AS complaints,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('contact', to_jsonb(r), 'login', r.login)
                               ORDER BY r.created_at DESC, r.id DESC), '[]') FROM (
        SELECT t.*, u.login FROM contacts t LEFT JOIN users u ON u.id = t.agent_id
        WHERE t.customer_id = ok.customer_id ORDER BY t.created_at DESC, t.id DESC LIMIT 6) r) AS recent,
    (SELECT coalesce(jsonb_agg(to_jsonb(s) ORDER BY s.id DESC), '[]') FROM (
        SELECT * FROM surveys s WHERE s.customer_id = ok.customer_id AND s.answered_at IS NOT NULL
        ORDER BY s.id DESC LIMIT 5) s) AS surveys,
    (SELECT count(*) FROM complaints k
       WHERE k.customer_id = ok.customer_id AND k.state NOT IN ('resolved', 'closed')) AS unresolved,
    (SELECT jsonb_object_agg(code, name) FROM products WHERE code = ANY($9::text[])) AS names,
    CASE WHEN NOT (SELECT c.blacklisted FROM customers c WHERE c.id = ok.customer_id)
              AND NOT EXISTS (SELECT 1 FROM complaints k WHERE k.customer_id = ok.customer_id
                              AND k.state NOT IN ('resolved', 'closed'))
    THEN (SELECT coalesce(jsonb_object_agg(q.code, q.peers), '{{}}') FROM (
        SELECT p.code, count(DISTINCT other.customer_id) AS peers
        FROM holdings mine
        JOIN holdings shared ON shared.product_id = mine.product_id AND shared.customer_id <> mine.customer_id
        JOIN holdings other ON other.customer_id = shared.customer_id
        JOIN products p ON p.id = other.product_id
        WHERE mine.customer_id = ok.customer_id AND p.code = ANY($9::text[])
          AND other.product_id NOT IN (SELECT product_id FROM holdings WHERE customer_id = ok.customer_id)
        GROUP BY p.code) q)
    END AS peers"""  # noqa: S608 - our own constants

# $1 channel, $2 call id, $3 the agent the call must have been offered to (NULL: any, for a
# supervisor), $4-$6 the actor (login, door, user id), $7 the audit entry's details, $8 now,
# $9 the catalogue's product codes, $10-$13 the credential the agent's socket signed in with
# (user id, token and session digests, sessions created after; $10 NULL: not checked).
# `signed` is whether that credential still stands: when it does not, not even the call is
# read. `ok` is the call when the agent may see its customer: only then is the read audited
# and the card read.
FOR_CALL = f"""
WITH signed AS (
    SELECT {stands_sql("$10", "$11", "$12", "$13")} AS standing
), k AS (
    SELECT t.*, u.login FROM contacts t LEFT JOIN users u ON u.id = t.agent_id
    WHERE t.channel = $1 AND t.external_id = $2 AND (SELECT standing FROM signed)
), ok AS (
    SELECT k.id, k.customer_id FROM k
    WHERE k.customer_id IS NOT NULL AND ($3::bigint IS NULL OR k.agent_id = $3::bigint)
), audited AS (
    INSERT INTO audit_log (at, actor_id, actor, via, customer_id, action, subject_type, subject_id, details)
    SELECT $8::timestamptz, $6::bigint, $4::text, $5::text, ok.customer_id, 'customer.card', 'call',
           left($2::text, 64), $7::jsonb
    FROM ok
    RETURNING id
)
-- As text, parsed here: numbers stay exact (the ORM's engine decodes JSON itself, to floats).
SELECT signed_in, contact::text, audited, customer::text, identities::text, holdings::text, complaints::text,
       recent::text, surveys::text, unresolved, names::text, peers::text
FROM (
    SELECT (SELECT standing FROM signed) AS signed_in, (SELECT to_jsonb(k) FROM k) AS contact,
           (SELECT count(*) FROM audited) AS audited, {_CARD}
    FROM (SELECT 1) AS one LEFT JOIN ok ON true
) AS card
"""  # noqa: S608 - our own constants


@dataclass(frozen=True)
class CardRows:
    """The statement's answer: whether the credential stood (when it did not, nothing was
    read), the call (None: no such call), and the customer's side of the card when the
    agent may see it (`customer` None otherwise)."""

    signed_in: bool
    contact: ContactView | None
    customer: CustomerRecord | None
    open_complaints: tuple[ComplaintView, ...]
    recent: tuple[ContactView, ...]
    satisfaction: tuple[SurveyView, ...]
    facts: OfferFacts | None
    peers: dict[str, int] | None  # None: not counted (blacklisted, or a complaint open)


def _plain(value: Any) -> Any:
    """A JSON column's value as the ORM gives it: numbers read as Decimal become floats."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _column(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(kind, UTCDateTime):
        return datetime.fromisoformat(value).astimezone(UTC)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    if isinstance(kind, JSON):
        return _plain(value)
    if isinstance(kind, Numeric):
        return Decimal(value) if kind.asdecimal else float(value)
    return value


def _row(model: type[M], data: dict[str, Any], **related: Any) -> M:
    """A transient ORM row from `to_jsonb` of its table row, typed as the ORM would load it."""
    values = {
        attribute.key: _column(attribute.columns[0].type, data.get(attribute.columns[0].name))
        for attribute in sa_inspect(model).column_attrs
    }
    return model(**values, **related)


def _since(customer: Customer, holdings: Sequence[Holding]) -> date:
    first = min((h.since for h in holdings), default=None)
    return first or customer.created_at.date()


def _decode(row: Any) -> CardRows:
    def load(name: str) -> Any:
        raw = row[name]
        return None if raw is None else json.loads(raw, parse_float=Decimal)

    contact_data = load("contact")
    contact = None
    if contact_data is not None:
        contact = _contact(_row(Contact, contact_data), contact_data.get("login"))
    customer_data = load("customer")
    if customer_data is None:
        return CardRows(bool(row["signed_in"]), contact, None, (), (), (), None, None)
    identities = [_row(CustomerIdentity, i) for i in load("identities")]
    holdings = [_row(Holding, h["holding"], product=_row(Product, h["product"])) for h in load("holdings")]
    customer = _row(Customer, customer_data, identities=identities, holdings=holdings)
    record = _to_record(customer, details=True)
    peers = load("peers")
    facts = OfferFacts(
        tier=customer.tier,
        blacklisted=bool(customer.blacklisted),
        open_complaints=int(row["unresolved"]),
        customer_since=_since(customer, holdings),
        held=frozenset(h.product.code for h in holdings),
        names={str(c): str(n) for c, n in (load("names") or {}).items()},
    )
    return CardRows(
        signed_in=bool(row["signed_in"]),
        contact=contact,
        customer=record,
        open_complaints=tuple(complaint_view(_row(Complaint, c)) for c in load("complaints")),
        recent=tuple(_contact(_row(Contact, r["contact"]), r["login"]) for r in load("recent")),
        satisfaction=tuple(survey_view(_row(Survey, s)) for s in load("surveys")),
        facts=facts,
        peers=None if peers is None else {str(c): int(n) for c, n in peers.items()},
    )


async def for_call(
    session: AsyncSession,
    *,
    channel: str,
    call_id: str,
    offered_to: int | None,
    actor: tuple[str, str, int | None],
    details: dict[str, Any],
    now: datetime,
    catalogue: Sequence[str],
    credential: Credential | None = None,
) -> CardRows:
    """The call and its card, and the read audited, committed: one round trip. `offered_to`:
    the agent the call must have been offered to for its customer to be read (None: anyone's
    call, for a supervisor); `credential`: what the agent signed in with, which must still
    stand for anything to be read (None: not checked, the request was just authenticated).
    The session must be PostgreSQL's and not in a transaction."""
    connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    raw = await connection.get_raw_connection()
    driver = cast(Any, raw.driver_connection)
    login, via, user_id = actor
    row = await driver.fetchrow(
        FOR_CALL,
        channel,
        call_id,
        offered_to,
        login,
        via,
        user_id,
        json.dumps(details),
        now,
        list(catalogue),
        None if credential is None else credential.user_id,
        None if credential is None else credential.token_hash,
        None if credential is None else credential.session_hash,
        None if credential is None else now - credential.session_max_age,
    )
    return _decode(row)
