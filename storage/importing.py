"""Set-based writes for the bulk customer import.

PostgreSQL: new customers and their identities are COPYed straight into `customers` and
`customer_identities`; updates are COPYed into two temporary staging tables and merged
with three statements sent in one round trip, so a batch of thousands of rows costs a
handful of round trips. SQLite: executemany.
Both keep the same rules: an empty field (None) leaves the stored value alone, extra
attributes are merged key by key, an identity the customer already has is kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

import asyncpg
from sqlalchemy import Boolean, Select, String, Table, any_, bindparam, func, select, text, union_all, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Customer, CustomerIdentity
from storage.models.base import utcnow

# Set on a customer blacklisted by a file, so the record says where the flag came from.
IMPORT_REASON = "set by bulk import"


# An identity as the import handles it: (kind, value). A plain tuple, not storage.customers'
# Identity: a row's identities are hashed half a dozen times on their way to the database,
# and a tuple hashes in C (the dataclass's __hash__ was a tenth of the import's Python time).
Key = tuple[str, str]


class ImportRow(NamedTuple):
    """One good row of an import file; None means "not given, keep what is stored".

    A named tuple: a hundred thousand of them are made per 100,000 rows, and a frozen
    dataclass's __init__ cost several times a tuple's."""

    line: int
    name: str | None
    tier: str | None
    blacklisted: bool | None
    language: str | None
    region: str | None
    identities: tuple[Key, ...] = ()
    # The extra columns as the JSON object written to `attributes`, encoded where the row
    # is made (in the parse thread, not the event loop): "{}" when there are none.
    attributes_json: str = "{}"


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def _held(
    session: AsyncSession, identities: Iterable[Key], *, with_tier: bool
) -> list[tuple[Key, int, str | None]]:
    """(identity, customer holding it, that customer's tier if asked) for those held.
    Core rows read on the connection: the ORM's result handling cost more than the query."""
    wanted = list(identities)
    if not wanted:
        return []
    connection = await session.connection()
    identities_table = cast(Table, CustomerIdentity.__table__)
    customers_table = cast(Table, Customer.__table__)
    columns = [identities_table.c.kind, identities_table.c.value, identities_table.c.customer_id]
    if with_tier:
        columns.append(customers_table.c.tier)
    by_kind: dict[str, list[str]] = {}
    for kind, value in wanted:
        by_kind.setdefault(kind, []).append(value)

    def of_kind(kind: str, condition: Any) -> Select[Any]:
        query = select(*columns).where(identities_table.c.kind == kind, condition)
        if with_tier:
            query = query.join(customers_table, customers_table.c.id == identities_table.c.customer_id)
        return query

    queries: list[Any] = []
    if _is_postgres(session):
        # Phones and e-mails together: one statement, one round trip a batch, each kind an
        # array parameter (`value = ANY`, a bitmap scan of the (kind, value) index). Two
        # arrays unnested side by side and joined row by row to the index took twice as
        # long on the server (13 ms against 5 + 2 ms for 2,700 identities among 1.3 M).
        parts = [
            of_kind(kind, identities_table.c.value == any_(bindparam(f"values_{n}", values, ARRAY(String))))
            for n, (kind, values) in enumerate(by_kind.items())
        ]
        queries.append(parts[0] if len(parts) == 1 else union_all(*parts))
    else:
        # SQLite has no arrays: IN lists per kind, in chunks under its variable limit.
        for kind, values in by_kind.items():
            for start in range(0, len(values), 500):
                queries.append(of_kind(kind, identities_table.c.value.in_(values[start : start + 500])))
    held: list[tuple[Key, int, str | None]] = []
    for query in queries:
        for row in (await connection.execute(query)).all():
            held.append(((row[0], row[1]), row[2], row[3] if with_tier else None))
    return held


async def owners(session: AsyncSession, identities: Iterable[Key]) -> dict[Key, int]:
    """The customer holding each of these identities, for those that are held."""
    return {identity: owner for identity, owner, _ in await _held(session, identities, with_tier=False)}


async def owners_and_tiers(
    session: AsyncSession, identities: Iterable[Key]
) -> tuple[dict[Key, int], dict[int, str]]:
    """As `owners`, with each owner's stored tier, in the same round trips."""
    owners: dict[Key, int] = {}
    tiers: dict[int, str] = {}
    for identity, owner, tier in await _held(session, identities, with_tier=True):
        owners[identity] = owner
        tiers[owner] = tier or ""
    return owners, tiers


async def tiers(session: AsyncSession, customer_ids: Iterable[int]) -> dict[int, str]:
    """The stored tier of each of these customers."""
    ids = list(customer_ids)
    found: dict[int, str] = {}
    table = cast(Table, Customer.__table__)
    connection = await session.connection()
    for start in range(0, len(ids), 500):
        result = await connection.execute(
            select(table.c.id, table.c.tier).where(table.c.id.in_(ids[start : start + 500]))
        )
        found.update({customer_id: tier for customer_id, tier in result.all()})
    return found


async def rows_at_last_statistics(session: AsyncSession) -> int:
    """How many customers PostgreSQL's statistics last counted (0 when never taken, and on
    SQLite, which keeps none): the base the import measures the table's growth against."""
    if not _is_postgres(session):
        return 0
    counted = await session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = 'customers'::regclass"))
    return max(0, int(counted or 0))


async def refresh_statistics(session: AsyncSession) -> None:
    """ANALYZE the two tables on PostgreSQL (a no-op on SQLite).

    An import into a nearly empty table grows it faster than autovacuum notices; with
    statistics that still say "empty" the planner reads the identity lookup through the
    `kind` prefix of the index and filters every row, so each batch gets slower. The
    caller refreshes them when the tables have grown materially since they were last taken,
    before it commits the batch: ANALYZE counts the rows its own transaction inserted, and
    runs inside a transaction.
    """
    if _is_postgres(session):
        await session.execute(text("ANALYZE customers, customer_identities"))


async def upsert(session: AsyncSession, writes: Sequence[tuple[int | None, ImportRow]]) -> tuple[int, int]:
    """Create the rows without a customer id, update the others, attach their identities.

    Within one call no two rows may share an identity or a customer (the caller defers
    such rows to a later call). Returns (created, updated).
    """
    if not writes:
        return 0, 0
    if _is_postgres(session):
        await _upsert_postgres(session, writes)
    else:
        await _upsert_sqlite(session, writes)
    created = sum(1 for customer_id, _ in writes if customer_id is None)
    return created, len(writes) - created


_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS import_customers (
    id bigint, is_new boolean, name text, tier text, blacklisted boolean,
    language text, region text, attributes jsonb
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS import_identities (customer_id bigint, kind text, value text)
    ON COMMIT DELETE ROWS;
DELETE FROM import_customers;
DELETE FROM import_identities;
"""

# The columns a new customer is written with, by COPY or by the merge below.
_NEW_CUSTOMER = (
    "id, name, tier, blacklisted, blacklist_reason, language, region,"
    " attributes, marketing_opt_out, created_at, updated_at"
)

_MERGE = f"""
INSERT INTO customers ({_NEW_CUSTOMER})
SELECT id, coalesce(name, ''), coalesce(tier, 'regular'), coalesce(blacklisted, false),
       CASE WHEN blacklisted THEN '{IMPORT_REASON}' END, language, region,
       attributes, false, now(), now()
FROM import_customers WHERE is_new;
UPDATE customers c SET
    name = coalesce(s.name, c.name),
    tier = coalesce(s.tier, c.tier),
    blacklisted = coalesce(s.blacklisted, c.blacklisted),
    blacklist_reason = CASE WHEN coalesce(s.blacklisted, c.blacklisted)
                            THEN coalesce(c.blacklist_reason, '{IMPORT_REASON}') END,
    language = coalesce(s.language, c.language),
    region = coalesce(s.region, c.region),
    attributes = c.attributes || s.attributes,
    updated_at = now()
FROM import_customers s WHERE NOT s.is_new AND c.id = s.id;
INSERT INTO customer_identities (customer_id, kind, value, created_at)
SELECT customer_id, kind, value, now() FROM import_identities
ON CONFLICT (kind, value) DO NOTHING;
"""  # noqa: S608 - formats in our own constant, never input


async def _upsert_postgres(session: AsyncSession, writes: Sequence[tuple[int | None, ImportRow]]) -> None:
    creates = [row for customer_id, row in writes if customer_id is None]
    # Ids for new customers come from the table's own sequence, so identities can be
    # written with their customer id before the customers exist. This first statement
    # goes through SQLAlchemy so that the session's transaction is open on the
    # connection before we use the driver directly. The sequence is named in a subquery,
    # found once: named in nextval's argument, its name was looked up for every id (0.3 s
    # of the database's CPU per 100,000 ids, against 0.04 s).
    now, new_ids = (
        await session.execute(
            text(
                "SELECT now(), array(SELECT nextval("
                "(SELECT pg_get_serial_sequence('customers', 'id')::regclass)) FROM generate_series(1, :n))"
            ),
            {"n": len(creates)},
        )
    ).one()
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = cast(Any, raw.driver_connection)  # asyncpg.Connection: COPY has no SQLAlchemy API
    staged: list[tuple[int, bool, ImportRow]] = [
        (customer_id, False, row) for customer_id, row in writes if customer_id is not None
    ]
    created = list(zip(new_ids, creates, strict=True))
    if created and not await _copy_new(driver, created, now):
        staged.extend((customer_id, True, row) for customer_id, row in created)
    if staged:
        await _merge(driver, staged)


async def _copy_new(driver: Any, created: Sequence[tuple[int, ImportRow]], now: datetime) -> bool:
    """COPY new customers and their identities straight into the tables: the work of
    PostgreSQL's own COPY, without a staging table to fill and read back (a fifth of the
    database's time for a batch of new customers).

    Their identities were free when the batch looked up their owners; another session may
    have taken one since. Then nothing is written (a savepoint) and False is returned: the
    caller merges them instead, where ON CONFLICT leaves that identity to its holder."""
    customers = [
        (
            customer_id,
            row.name or "",
            row.tier or "regular",
            bool(row.blacklisted),
            IMPORT_REASON if row.blacklisted else None,
            row.language,
            row.region,
            row.attributes_json,
            False,
            now,
            now,
        )
        for customer_id, row in created
    ]
    identities = [
        (customer_id, kind, value, now) for customer_id, row in created for kind, value in row.identities
    ]
    await driver.execute("SAVEPOINT import_new")
    try:
        await driver.copy_records_to_table("customers", records=customers, columns=_NEW_CUSTOMER.split(", "))
        await driver.copy_records_to_table(
            "customer_identities", records=identities, columns=("customer_id", "kind", "value", "created_at")
        )
    except asyncpg.UniqueViolationError:
        await driver.execute("ROLLBACK TO SAVEPOINT import_new")
        return False
    return True


async def _merge(driver: Any, staged: Sequence[tuple[int, bool, ImportRow]]) -> None:
    """Stage the rows (customer id, whether new, row) and merge them into the tables."""
    customers = [
        (
            customer_id,
            is_new,
            row.name,
            row.tier,
            row.blacklisted,
            row.language,
            row.region,
            row.attributes_json,
        )
        for customer_id, is_new, row in staged
    ]
    identities = [
        (customer_id, kind, value) for customer_id, _, row in staged for kind, value in row.identities
    ]
    await driver.execute(_STAGING)
    await driver.copy_records_to_table("import_customers", records=customers)
    await driver.copy_records_to_table("import_identities", records=identities)
    await driver.execute(_MERGE)


async def _upsert_sqlite(session: AsyncSession, writes: Sequence[tuple[int | None, ImportRow]]) -> None:
    table = cast(Table, Customer.__table__)
    creates = [row for customer_id, row in writes if customer_id is None]
    new_ids: list[int] = []
    if creates:
        now = utcnow()
        result = await session.execute(
            sqlite.insert(table).returning(table.c.id, sort_by_parameter_order=True),
            [
                {
                    "name": row.name or "",
                    "tier": row.tier or "regular",
                    "blacklisted": bool(row.blacklisted),
                    "blacklist_reason": IMPORT_REASON if row.blacklisted else None,
                    "language": row.language,
                    "region": row.region,
                    "attributes": json.loads(row.attributes_json),
                    "marketing_opt_out": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for row in creates
            ],
        )
        new_ids = list(result.scalars())
    updates = [(customer_id, row) for customer_id, row in writes if customer_id is not None]
    if updates:
        blacklisted = func.coalesce(bindparam("u_blacklisted", type_=Boolean), table.c.blacklisted)
        await session.execute(
            update(table)
            .where(table.c.id == bindparam("u_id"))
            .values(
                name=func.coalesce(bindparam("u_name"), table.c.name),
                tier=func.coalesce(bindparam("u_tier"), table.c.tier),
                blacklisted=blacklisted,
                blacklist_reason=func.iif(
                    blacklisted, func.coalesce(table.c.blacklist_reason, IMPORT_REASON), None
                ),
                language=func.coalesce(bindparam("u_language"), table.c.language),
                region=func.coalesce(bindparam("u_region"), table.c.region),
                attributes=func.json_patch(table.c.attributes, bindparam("u_attributes", type_=String)),
                updated_at=utcnow(),
            ),
            [
                {
                    "u_id": customer_id,
                    "u_name": row.name,
                    "u_tier": row.tier,
                    "u_blacklisted": row.blacklisted,
                    "u_language": row.language,
                    "u_region": row.region,
                    "u_attributes": row.attributes_json,
                }
                for customer_id, row in updates
            ],
        )
    identities: list[dict[str, Any]] = []
    ids = iter(new_ids)
    for customer_id, row in writes:
        owner = next(ids) if customer_id is None else customer_id
        identities.extend(
            {"customer_id": owner, "kind": kind, "value": value} for kind, value in row.identities
        )
    if identities:
        await session.execute(
            sqlite.insert(cast(Table, CustomerIdentity.__table__)).on_conflict_do_nothing(
                index_elements=["kind", "value"]
            ),
            identities,
        )
