"""The tier review in SQL: every customer graded in one INSERT … SELECT, so that a review of
a million customers is a few scans and sorts inside the database, not a million rows through
Python (bench/tier_review.py measures it).

What a customer is worth: their spend over the six complete months before the review (from
`customer_monthly_spend`; a customer without any history there is counted at their holdings'
current monthly spend times six), ranked for an ABC analysis (the customers making the first
75% of the revenue are class A, the next 20% class B, the rest C), then weighed by payment
record, complaints, tenure and products held into a score. The best scores of class A become
VIP up to the VIP quota, the next of class A or B preferred up to its quota, everyone else
regular. Blacklisted and merged customers are not graded. Nothing here commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, Integer, Numeric, bindparam, func, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import Customer, MonthlySpend, TierProposal, TierReview
from storage.models.base import UTCDateTime


@dataclass(frozen=True)
class Weights:
    """How payment record, complaints, tenure and holdings move a customer's score, a factor
    on their six months' spend each (the operator's rules do not say; these are ours)."""

    a_share: Decimal = Decimal("0.75")  # class A: the customers making the first 75% of revenue
    b_share: Decimal = Decimal("0.95")  # class B: the next 20%
    late_month: Decimal = Decimal("0.15")  # each month paid late takes 15% off
    late_floor: Decimal = Decimal("0.10")  # … down to a tenth
    complaint: Decimal = Decimal("0.05")  # each complaint in the last year 5% off, at most 4
    tenure_2y: Decimal = Decimal("1.05")  # a customer two years or more: +5%
    tenure_5y: Decimal = Decimal("1.10")  # five years or more: +10%
    holding: Decimal = Decimal("0.03")  # each product held beyond the first +3%, at most 5


@dataclass(frozen=True)
class Window:
    """The dates a review reads, worked out by the use case from the review's day."""

    spend_from: date  # first day of the first of the six months
    spend_to: date  # first day of the review's month (exclusive)
    complaints_since: datetime
    two_years_ago: date
    five_years_ago: date


@dataclass(frozen=True)
class ReviewRecord:
    id: int
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    graded: int
    proposals: int
    vip_quota: int
    preferred_quota: int
    revenue: Decimal


def _review(r: TierReview) -> ReviewRecord:
    return ReviewRecord(
        r.id,
        r.started_by,
        r.started_at,
        r.finished_at,
        r.graded,
        r.proposals,
        r.vip_quota,
        r.preferred_quota,
        r.revenue,
    )


async def get(session: AsyncSession, review_id: int) -> ReviewRecord:
    return _review((await session.execute(select(TierReview).where(TierReview.id == review_id))).scalar_one())


async def latest(session: AsyncSession) -> ReviewRecord | None:
    found = (await session.execute(select(TierReview).order_by(TierReview.id.desc()).limit(1))).scalar()
    return None if found is None else _review(found)


async def claim(
    session: AsyncSession, *, by: str, now: datetime, timeout_seconds: float, follows: int | None
) -> int | None:
    """Start a review in the caller's transaction, or None when another is running or has
    just been claimed. A worker names the review it found last (`follows`; 0 for none): if
    another worker has run one since, this one cannot follow the same and gives way. On
    PostgreSQL an advisory lock turns a second worker away at once (rather than waiting
    minutes on the unique `follows`), and the review's statements may run longer than a web
    request's statement timeout."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        took = (
            await session.execute(text("SELECT pg_try_advisory_xact_lock(hashtext('tier_review'))"))
        ).scalar()
        if not took:
            return None
        await session.execute(text(f"SET LOCAL statement_timeout = {int(timeout_seconds * 1000)}"))
        # The review sorts the whole base three times: in memory, not in temporary files
        # (twice a year, on one connection).
        await session.execute(text("SET LOCAL work_mem = '256MB'"))
    if follows is None:
        follows = (await session.execute(select(func.max(TierReview.id)))).scalar() or 0
    review = TierReview(
        follows=follows,
        started_by=by,
        started_at=now,
        graded=0,
        proposals=0,
        vip_quota=0,
        preferred_quota=0,
        revenue=Decimal(0),
    )
    # No savepoint: the claim is the transaction's first write, so a refusal rolls it all back.
    session.add(review)
    try:
        await session.flush()
    except (IntegrityError, OperationalError):  # another worker followed it first (or holds SQLite)
        await session.rollback()
        return None
    return review.id


async def gradable(session: AsyncSession) -> int:
    """The customers a review grades: the quotas are shares of these."""
    query = select(func.count()).where(Customer.blacklisted.is_(False), Customer.merged_into_id.is_(None))
    return int((await session.execute(query)).scalar_one())


async def supersede_pending(session: AsyncSession) -> int:
    """A new review replaces what the last one left undecided."""
    done = await session.execute(
        update(TierProposal).where(TierProposal.state == "pending").values(state="superseded")
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


# Hand-written: one statement reads customers, spend, holdings and complaints once each and
# writes the proposals, which is what makes a million customers a matter of seconds.
_GRADE = """
WITH approved AS MATERIALIZED (
    -- Read once, before the first proposal is written: as a correlated NOT EXISTS on the
    -- table this statement inserts into, a plan made while the table was empty scanned every
    -- row written so far for each customer (hours at a million customers).
    SELECT customer_id FROM tier_proposals WHERE state = 'approved' GROUP BY customer_id
), spend AS (
    SELECT customer_id, SUM(amount) AS amount,
           SUM(CASE WHEN paid_late THEN 1 ELSE 0 END) AS late
    FROM customer_monthly_spend
    WHERE month >= :spend_from AND month < :spend_to
    GROUP BY customer_id
), held AS (
    SELECT customer_id, COUNT(*) AS n, SUM(monthly_spend) AS monthly, MIN(since) AS since
    FROM holdings GROUP BY customer_id
), complained AS (
    SELECT customer_id, COUNT(*) AS n FROM complaints
    WHERE created_at >= :complaints_since GROUP BY customer_id
), base AS (
    SELECT c.id, c.tier,
           COALESCE(s.amount, h.monthly * 6, 0) AS spend,
           COALESCE(s.late, 0) AS late,
           COALESCE(h.n, 0) AS holdings,
           COALESCE(k.n, 0) AS complaints,
           h.since AS since
    FROM customers c
    LEFT JOIN spend s ON s.customer_id = c.id
    LEFT JOIN held h ON h.customer_id = c.id
    LEFT JOIN complained k ON k.customer_id = c.id
    WHERE c.blacklisted = :no AND c.merged_into_id IS NULL
), ranked AS (
    SELECT base.*,
           SUM(spend) OVER (ORDER BY spend DESC, id ROWS UNBOUNDED PRECEDING) - spend AS before,
           SUM(spend) OVER () AS total
    FROM base
), scored AS (
    SELECT ranked.*,
           CASE WHEN spend > 0 AND before < :a_share * total THEN 'A'
                WHEN spend > 0 AND before < :b_share * total THEN 'B'
                ELSE 'C' END AS abc,
           spend
           * CASE WHEN 1 - late * :late_month < :late_floor THEN :late_floor
                  ELSE 1 - late * :late_month END
           * (1 - :complaint * CASE WHEN complaints > 4 THEN 4 ELSE complaints END)
           * CASE WHEN since <= :five_years_ago THEN :tenure_5y
                  WHEN since <= :two_years_ago THEN :tenure_2y ELSE 1 END
           * (1 + :holding * CASE WHEN holdings > 6 THEN 5 WHEN holdings > 1 THEN holdings - 1 ELSE 0 END)
           AS score
    FROM ranked
), ranked_a AS (
    -- Places are given by rank, never by `IN (subquery)`: a million ids in a subquery that
    -- outgrows work_mem is a nested loop of a million by a hundred thousand.
    SELECT scored.*,
           CASE WHEN abc = 'A' THEN ROW_NUMBER() OVER (
               PARTITION BY abc = 'A' ORDER BY score DESC, spend DESC, id) END AS a_rank
    FROM scored
), vip AS (
    SELECT ranked_a.*, abc = 'A' AND a_rank <= :vip_quota AS is_vip FROM ranked_a
), graded AS (
    SELECT vip.*,
           CASE WHEN is_vip THEN 'vip'
                WHEN abc IN ('A', 'B')
                     -- rank among A and B, less the VIPs ahead: rank among those left
                     AND ROW_NUMBER() OVER w
                         - SUM(CASE WHEN is_vip THEN 1 ELSE 0 END) OVER w <= :preferred_quota
                THEN 'preferred'
                ELSE 'regular' END AS proposed
    FROM vip
    -- ROWS: running figures need no look-ahead for peers (the order is unique anyway).
    WINDOW w AS (PARTITION BY abc IN ('A', 'B') ORDER BY score DESC, spend DESC, id ROWS UNBOUNDED PRECEDING)
)
INSERT INTO tier_proposals (
    review_id, customer_id, from_tier, to_tier, direction, spend, abc, late_months, complaints,
    holdings, customer_since, score, state, created_at
)
SELECT :review_id, g.id, g.tier, g.proposed,
       CASE WHEN g.proposed = 'vip' OR (g.proposed = 'preferred' AND g.tier = 'regular')
            THEN 'up' ELSE 'down' END,
       g.spend, g.abc, g.late, g.complaints, g.holdings, g.since, g.score, 'pending', :now
FROM graded g
LEFT JOIN approved a ON a.customer_id = g.id
WHERE g.proposed <> g.tier AND a.customer_id IS NULL
"""

_TOTALS = """
SELECT COALESCE(SUM(amount), 0) FROM customer_monthly_spend
WHERE month >= :spend_from AND month < :spend_to
"""


def _money(name: str) -> object:
    return bindparam(name, type_=Numeric(8, 4))


async def grade(
    session: AsyncSession,
    review_id: int,
    *,
    window: Window,
    weights: Weights,
    vip_quota: int,
    preferred_quota: int,
    now: datetime,
) -> int:
    """Write the review's proposals; returns how many."""
    statement = text(_GRADE).bindparams(
        bindparam("spend_from", type_=Date),
        bindparam("spend_to", type_=Date),
        bindparam("complaints_since", type_=UTCDateTime()),
        bindparam("two_years_ago", type_=Date),
        bindparam("five_years_ago", type_=Date),
        bindparam("vip_quota", type_=Integer),
        bindparam("preferred_quota", type_=Integer),
        bindparam("review_id", type_=Integer),
        bindparam("now", type_=UTCDateTime()),
        bindparam("no", type_=Boolean),
        *(_money(name) for name in Weights.__dataclass_fields__),  # type: ignore[arg-type]
    )
    params = {
        "spend_from": window.spend_from,
        "spend_to": window.spend_to,
        "complaints_since": window.complaints_since,
        "two_years_ago": window.two_years_ago,
        "five_years_ago": window.five_years_ago,
        "vip_quota": vip_quota,
        "preferred_quota": preferred_quota,
        "review_id": review_id,
        "now": now,
        "no": False,
        **{name: getattr(weights, name) for name in Weights.__dataclass_fields__},
    }
    await session.execute(statement, params)
    # Counted, not the rowcount: SQLite's driver reports -1 for an INSERT led by WITH.
    written = select(func.count()).where(TierProposal.review_id == review_id)
    return int((await session.execute(written)).scalar_one())


async def revenue(session: AsyncSession, window: Window) -> Decimal:
    statement = text(_TOTALS).bindparams(
        bindparam("spend_from", type_=Date), bindparam("spend_to", type_=Date)
    )
    found = (
        await session.execute(statement, {"spend_from": window.spend_from, "spend_to": window.spend_to})
    ).scalar()
    return Decimal(str(found or 0))


async def finish(
    session: AsyncSession,
    review_id: int,
    *,
    now: datetime,
    graded: int,
    proposals: int,
    vip_quota: int,
    preferred_quota: int,
    revenue: Decimal,
) -> None:
    await session.execute(
        update(TierReview)
        .where(TierReview.id == review_id)
        .values(
            finished_at=now,
            graded=graded,
            proposals=proposals,
            vip_quota=vip_quota,
            preferred_quota=preferred_quota,
            revenue=revenue,
        )
    )


@dataclass(frozen=True)
class SpendRow:
    customer_id: int
    month: date  # its first day
    amount: Decimal
    paid_late: bool = False


async def record_spend(session: AsyncSession, rows: list[SpendRow]) -> None:
    """Each customer's bill for a month, replacing what was recorded for that month."""
    if not rows:
        return
    insert = dialect_insert(session)
    statement = insert(MonthlySpend).values(
        [
            {"customer_id": r.customer_id, "month": r.month, "amount": r.amount, "paid_late": r.paid_late}
            for r in rows
        ]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["customer_id", "month"],
            set_={"amount": statement.excluded.amount, "paid_late": statement.excluded.paid_late},
        )
    )
