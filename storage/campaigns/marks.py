"""The mark that a campaign message goes on the wire, on PostgreSQL in one statement.

`dispatch.begin_send` takes about five statements and a commit through the ORM: lock the
target, check the rules on the customer row, move its frequency-cap stamp, mark the target
`sending`, and on a refusal read the reason. Here the same steps are one prepared statement
sent straight through asyncpg on a connection in autocommit mode: one round trip and one
commit per message, which is what the at-most-once guarantee needs (the `sending` mark is
durable before the message leaves) and nothing more. The rules are the same as
`dispatch.begin_send`'s; tests/test_campaign_rules.py runs on both engines, so both paths
are held to them. SQLite keeps the ORM path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from storage.campaign_audience import CLOSED_STATES
from storage.campaigns.caps import FrequencyCaps
from storage.campaigns.views import ClaimedTarget

_CLOSED = ", ".join(f"'{state}'" for state in CLOSED_STATES)
_OPEN_COMPLAINT = f"""EXISTS (
    SELECT 1 FROM complaints p WHERE p.customer_id = c.id AND p.state NOT IN ({_CLOSED}))"""  # noqa: S608 - our own constants
_LATEST_STAMP = """coalesce(
    (SELECT u.stamp FROM unnest($9::text[], $10::timestamptz[]) AS u(tier, stamp) WHERE u.tier = c.tier),
    $5)"""

# $1 target id, $2 claim token, $3 customer id, $4 now, $5 the latest stamp the frequency
# cap allows (now - cap) for a tier not in $9, $6 a retry (already counted against the cap),
# $7 a cross-sell, $8 the Telegram chat (null on other channels): one the bot knows is
# blocked is not asked, $9 the tiers with a cap of their own and $10 their latest stamps
# (the customer's is picked here, from the row the statement locks: a tier changed a moment
# ago counts).
# The CTEs see one snapshot; `target` locks the target row first (and only while the
# campaign runs and the claim is still ours), so the customer stamp moves only when the
# target is marked in the same statement. Exactly one of `marked`, `refused`, `released`
# changes the target: passed, refused by a rule, or the campaign stopped (the claim goes
# back: `pending` when paused, `cancelled` with its campaign).
BEGIN_SEND = f"""
WITH target AS (
    SELECT t.id FROM campaign_targets t
    WHERE t.id = $1 AND t.status = 'claimed' AND t.claim_token = $2
      AND EXISTS (SELECT 1 FROM campaigns k WHERE k.id = t.campaign_id AND k.state = 'running')
    FOR UPDATE OF t
), passed AS (
    UPDATE customers c SET last_campaign_at = $4
    FROM target
    WHERE c.id = $3 AND NOT c.blacklisted AND NOT c.marketing_opt_out AND c.merged_into_id IS NULL
      AND ($6 OR c.last_campaign_at IS NULL OR c.last_campaign_at <= {_LATEST_STAMP})
      AND NOT ($7 AND {_OPEN_COMPLAINT})
    RETURNING c.name, c.tier
), marked AS (
    UPDATE campaign_targets t SET status = 'sending', claimed_at = $4, attempts = t.attempts + 1
    FROM target
    WHERE t.id = target.id AND EXISTS (SELECT 1 FROM passed)
    RETURNING t.id
), refused AS (
    UPDATE campaign_targets t SET status = 'skipped', claim_token = NULL, reason = coalesce((
        SELECT CASE
            WHEN c.blacklisted THEN 'blacklisted'
            WHEN c.marketing_opt_out THEN 'opted_out'
            WHEN c.merged_into_id IS NOT NULL THEN 'merged'
            WHEN $7 AND {_OPEN_COMPLAINT} THEN 'open_complaint'
            WHEN c.last_campaign_at > {_LATEST_STAMP} THEN 'frequency_cap'
            ELSE 'refused' END
        FROM customers c WHERE c.id = $3), 'customer_gone')
    FROM target
    WHERE t.id = target.id AND NOT EXISTS (SELECT 1 FROM passed)
    RETURNING t.reason
), released AS (
    UPDATE campaign_targets t SET claim_token = NULL, status = CASE WHEN EXISTS (
        SELECT 1 FROM campaigns k WHERE k.id = t.campaign_id AND k.state = 'cancelled'
    ) THEN 'cancelled' ELSE 'pending' END
    WHERE t.id = $1 AND t.status = 'claimed' AND t.claim_token = $2
      AND NOT EXISTS (SELECT 1 FROM target)
    RETURNING t.id
)
SELECT (SELECT name FROM passed) AS name, (SELECT tier FROM passed) AS tier,
       EXISTS (SELECT 1 FROM marked) AS marked, (SELECT reason FROM refused) AS reason,
       EXISTS (SELECT 1 FROM telegram_blocked_chats b WHERE b.chat_id = $8::text) AS blocked
"""  # noqa: S608 - formats in our own constants, never input


# The verdict for a target marked `sending` whose Telegram chat has blocked the bot.
BLOCKED_CHAT = "blocked_chat"


class DirectMarks:
    """`begin_send` in one autocommitted statement on an asyncpg connection held by a lane
    of the dispatcher for a whole pass (asyncpg keeps the statement prepared)."""

    def __init__(self, driver: Any) -> None:
        self._driver = driver

    async def begin_send(
        self,
        target: ClaimedTarget,
        *,
        kind: str,
        now: datetime,
        frequency_cap: FrequencyCaps,
    ) -> tuple[str, dict[str, Any]]:
        """As `dispatch.begin_send`, committed: `go` with the customer's name and tier, a
        rule's reason (the target is `skipped`), BLOCKED_CHAT (marked, its chat blocks the bot:
        not to be sent), or `stopped` (the claim was given back)."""
        default_stamp, tiers, stamps = frequency_cap.stamps(now)
        row = await self._driver.fetchrow(
            BEGIN_SEND,
            target.id,
            target.token,
            target.customer_id,
            now,
            default_stamp,
            target.attempts > 0,
            kind == "cross_sell",
            target.address if target.channel == "telegram" else None,
            tiers,
            stamps,
        )
        if row["marked"] and row["blocked"]:
            return BLOCKED_CHAT, {}
        if row["marked"]:
            return "go", {"name": row["name"], "tier": row["tier"]}
        if row["reason"] is not None:
            return str(row["reason"]), {}
        return "stopped", {}


@asynccontextmanager
async def direct_marks(session: AsyncSession) -> AsyncIterator[DirectMarks | None]:
    """Marks on the session's connection in autocommit mode on PostgreSQL; None on SQLite,
    whose callers use `dispatch.begin_send` in a transaction of their own. The session
    must not be used for anything else meanwhile."""
    if session.get_bind().dialect.name != "postgresql":
        yield None
        return
    connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    raw = await connection.get_raw_connection()
    yield DirectMarks(cast(Any, raw.driver_connection))
