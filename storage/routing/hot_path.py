"""Routing a new call on PostgreSQL in one round trip: the rules, compiled at start into one
prepared statement that reads the caller's facts, picks the first matching rule, claims an
agent (SKIP LOCKED) and logs the contact, in the statement's own transaction. asyncpg
directly, not the ORM: this runs for every call (bench/routing.py, docs/telephony.md).
The events (the screen pop, the supervisor view) are the caller's to publish once the
statement has committed: a NOTIFY in here would hold PostgreSQL's cluster-wide notification
lock until the commit is on disk, and so let one routed call commit at a time.

What does not depend on the caller (the IVR input, the number dialled, hours and days, the
queue after business hours and overflow, whether the rule offers the menu first) is worked
out in Python before the statement and passed as one array per rule; the conditions on the
caller are compiled into a CASE. The Python engine (handlers/routing/rules.py) stays the
reference: tests/test_routing_compiled.py compares the two on random rule files.

A call's end (`HANG_UP`) is one statement on the same connections too: the stamp and the
agent freed (its three events published after it); the ORM's `handlers/routing/calls.py::ended` stays its
reference (tests/test_hangup_one_statement.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from storage.complaints import OPEN_STATES
from storage.events_postgres import no_reset

# asyncpg's errors, for callers that fall back when the database cannot answer.
ERRORS: tuple[type[BaseException], ...] = (asyncpg.PostgresError, asyncpg.InterfaceError)
# A value the database refuses (SQLSTATE class 22): the request's fault, not the server's.
REFUSED: tuple[type[BaseException], ...] = (asyncpg.DataError,)


@dataclass(frozen=True)
class CompiledRule:
    """What the statement needs to know of one rule, in file order."""

    name: str
    when: dict[str, Any]
    priority: int
    skills: tuple[str, ...]
    agent_language: bool


@dataclass(frozen=True)
class PerCall:
    """The call's side of the decision, one entry per rule (and one more for no rule)."""

    channel: str
    call_id: str
    direction: str
    caller: str | None  # normalised, None for a withheld or malformed number
    from_number: str
    to_number: str
    now: datetime
    ivr_digits: str | None
    unknown_language: str  # a stranger's greeting language, from their number
    holds: Sequence[bool]  # the rule's conditions on the call hold
    actions: Sequence[str]  # route | reject | callback
    queues: Sequence[str | None]
    claims: Sequence[bool]  # routing this rule's way takes an agent now


@dataclass(frozen=True)
class Routed:
    """The statement's answer; `contact_id` None: the call id was logged already."""

    contact_id: int | None
    rule: int  # 0-based; len(rules) when none matched
    customer_id: int | None
    customer_name: str | None
    tier: str | None
    language: str
    agent: str | None
    twilio_client: str | None
    phone: str | None


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _texts(values: Sequence[str]) -> str:
    return "ARRAY[" + ",".join(_text(str(v)) for v in values) + "]::text[]"


def _bool(value: Any) -> str:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return "true" if value else "false"


def _list(value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of strings")
    return list(value)


def _condition(name: str, expected: Any) -> str:
    """The SQL of one condition on the caller, over the `f` row (all NULL for a stranger)."""
    if name == "known":
        return f"((f.id IS NOT NULL) = {_bool(expected)})"
    if name == "blacklisted":
        return f"(coalesce(f.blacklisted, false) = {_bool(expected)})"
    if name == "open_complaint":
        return f"(coalesce(f.open_complaint, false) = {_bool(expected)})"
    if name == "tier":
        return f"(f.id IS NOT NULL AND f.tier = ANY({_texts(_list(expected))}))"
    if name == "language":
        return (
            f"(f.id IS NOT NULL AND coalesce(nullif(f.language, ''), 'zh') = ANY({_texts(_list(expected))}))"
        )
    if name == "region":
        return f"(f.id IS NOT NULL AND f.region = ANY({_texts(_list(expected))}))"
    if name == "contacted_within_days":
        if isinstance(expected, bool) or not isinstance(expected, int | float):
            raise ValueError("expected a number of days")
        seconds = float(expected) * 86400
        within = f"$7::timestamptz - f.last_contact <= make_interval(secs => {seconds!r})"
        return f"(f.last_contact IS NOT NULL AND {within})"
    raise ValueError(f"not a condition on the caller: {name}")


FACTS = frozenset(
    {"known", "blacklisted", "tier", "open_complaint", "contacted_within_days", "language", "region"}
)


def compile_rules(rules: Sequence[CompiledRule]) -> str:
    """The routing statement for these rules; ValueError when a condition has a value the
    documented forms do not allow (then routing keeps the Python engine)."""
    cases = []
    for index, rule in enumerate(rules, start=1):
        parts = [f"($8::bool[])[{index}]"] + [_condition(n, v) for n, v in rule.when.items() if n in FACTS]
        cases.append(f"WHEN coalesce({' AND '.join(parts)}, false) THEN {index}")
    none = len(rules) + 1
    names = _texts([r.name for r in rules] + ["no-rule-matched"])
    priorities = "ARRAY[" + ",".join(str(int(r.priority)) for r in rules) + ",0]::int[]"
    skills = _texts([json.dumps(list(r.skills)) for r in rules] + ["[]"])
    by_language = "ARRAY[" + ",".join(_bool(r.agent_language) for r in rules) + ",false]::bool[]"
    open_states = _texts(OPEN_STATES)
    candidates = """
            SELECT a.user_id FROM agent_states a JOIN users u ON u.id = a.user_id, d
            WHERE d.claim AND a.state = 'available' AND a.active_contacts < a.capacity AND u.active
              AND u.skills @> d.skills
              AND (NOT d.by_language OR u.languages @> jsonb_build_array(d.lang))
            ORDER BY a.since LIMIT 1"""
    # Built from the operator's rule file at start, every value quoted by _text: no request
    # text reaches the statement but as a parameter.
    return f"""
WITH f AS (
    SELECT c.id, c.name, c.tier, c.blacklisted, c.language, c.region,
           EXISTS (SELECT 1 FROM complaints k WHERE k.customer_id = c.id AND k.state = ANY({open_states}))
               AS open_complaint,
           (SELECT max(t.created_at) FROM contacts t WHERE t.customer_id = c.id) AS last_contact
    FROM customer_identities i JOIN customers c ON c.id = i.customer_id
    WHERE i.kind = 'phone' AND i.value = $4
    LIMIT 1
), chosen AS (
    SELECT f.*, CASE {" ".join(cases)} ELSE {none} END AS rule
    FROM (SELECT 1) AS one LEFT JOIN f ON true
), d AS (
    SELECT chosen.*,
           ($9::text[])[rule] AS action, ($10::text[])[rule] AS queue, ($11::bool[])[rule] AS claim,
           ({names})[rule] AS reason, ({priorities})[rule] AS priority,
           CAST(({skills})[rule] AS jsonb) AS skills, ({by_language})[rule] AS by_language,
           CASE WHEN id IS NOT NULL THEN coalesce(nullif(language, ''), 'zh') ELSE $12::text END AS lang
    FROM chosen
), picked AS (
    -- SKIP LOCKED passes over an agent another call is claiming this instant; `locked_out`
    -- below says when that left nobody although someone qualified (CompiledRouting.route
    -- then claims again: waiting for the locks here could deadlock, as a row whose recheck
    -- failed stays locked).
    {candidates} FOR UPDATE OF a SKIP LOCKED
), ins AS (
    INSERT INTO contacts (channel, direction, external_id, customer_id, from_number, to_number,
                          created_at, ringing_at, extra, fallback, action, reason, queue, priority,
                          agent_id, skills, ivr_digits)
    SELECT $1::text, $3::text, $2::text, d.id, $5::text, $6::text, $7, $7, '{{}}'::jsonb, false,
           d.action, d.reason, d.queue, d.priority, (SELECT user_id FROM picked), d.skills, $13::text
    FROM d
    ON CONFLICT (channel, external_id) DO NOTHING
    RETURNING id, agent_id
), claimed AS (
    UPDATE agent_states AS s
    SET active_contacts = s.active_contacts + 1,
        state = CASE WHEN s.active_contacts + 1 >= s.capacity THEN 'busy' ELSE s.state END,
        since = CASE WHEN s.active_contacts + 1 >= s.capacity THEN $7 ELSE s.since END
    FROM ins WHERE s.user_id = ins.agent_id
    RETURNING s.user_id
)
SELECT ins.id AS contact_id, d.rule, d.id AS customer_id, d.name, d.tier, d.lang,
       u.login, u.twilio_client, u.phone,
       ins.id IS NOT NULL AND d.claim AND claimed.user_id IS NULL AND EXISTS ({candidates}) AS locked_out
FROM d LEFT JOIN ins ON true LEFT JOIN claimed ON true LEFT JOIN users u ON u.id = claimed.user_id
"""  # noqa: S608


# A second try at the agent claim, for a call logged without one because every agent who
# qualified was being claimed by another call at that instant (rare: each lock lasts one
# statement). It takes the agent and gives the contact to them in one statement.
CLAIM_AGAIN = """
WITH picked AS (
    SELECT a.user_id FROM agent_states a JOIN users u ON u.id = a.user_id
    WHERE a.state = 'available' AND a.active_contacts < a.capacity AND u.active
      AND u.skills @> $2::jsonb AND (NOT $3::bool OR u.languages @> jsonb_build_array($4::text))
    ORDER BY a.since LIMIT 1
    FOR UPDATE OF a SKIP LOCKED
), logged AS (
    UPDATE contacts AS c SET agent_id = picked.user_id
    FROM picked WHERE c.id = $1 AND c.agent_id IS NULL AND c.ended_at IS NULL
    RETURNING c.agent_id
), claimed AS (
    UPDATE agent_states AS s
    SET active_contacts = s.active_contacts + 1,
        state = CASE WHEN s.active_contacts + 1 >= s.capacity THEN 'busy' ELSE s.state END,
        since = CASE WHEN s.active_contacts + 1 >= s.capacity THEN $5::timestamptz ELSE s.since END
    FROM logged WHERE s.user_id = logged.agent_id
    RETURNING s.user_id
)
SELECT u.login, u.twilio_client, u.phone
FROM claimed JOIN users u ON u.id = claimed.user_id
"""
# A call's end (handlers/routing/calls.py::ended, the reference): stamp it and free its agent
# in one statement; the caller announces it. The stamp is conditional (`ended_at IS NULL`, rechecked on the
# row's latest version once a concurrent hangup commits) and only the statement that stamped
# the call releases its agent, so two hangups that cross free the agent once. A call ended
# already changes nothing (and is announced again); an unknown call returns no row.
HANG_UP = """
WITH known AS (
    SELECT k.customer_id, k.queue, u.login
    FROM contacts k LEFT JOIN users u ON u.id = k.agent_id
    WHERE k.channel = $1::text AND k.external_id = $2::text
), stamped AS (
    UPDATE contacts AS t
    SET ended_at = $3::timestamptz,
        duration_seconds = coalesce($5::int, CASE WHEN t.answered_at IS NOT NULL
            THEN trunc(extract(epoch FROM $3::timestamptz - t.answered_at))::int END),
        disposition = coalesce(nullif(t.disposition, ''),
            CASE WHEN t.answered_at IS NULL AND $4::text <> '' THEN $4::text END)
    WHERE t.channel = $1::text AND t.external_id = $2::text AND t.ended_at IS NULL
    RETURNING t.agent_id
), released AS (
    UPDATE agent_states AS s
    SET active_contacts = greatest(s.active_contacts - 1, 0),
        state = CASE WHEN s.state IN ('busy', 'available') THEN 'available' ELSE s.state END,
        since = CASE WHEN s.state IN ('busy', 'available') THEN $3::timestamptz ELSE s.since END
    FROM stamped WHERE s.user_id = stamped.agent_id
    RETURNING s.user_id
)
SELECT known.login, known.customer_id, known.queue, EXISTS (SELECT 1 FROM stamped) AS stamped
FROM known
"""

# How long to wait before each further try: the locks in the way last one statement.
CLAIM_RETRIES = (0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.1, 0.2)

_QUEUES = "SELECT name, opens, closes, days, timezone, overflow FROM queues"


@dataclass(frozen=True)
class Ended:
    """A known call's end; `stamped` False: it had ended before."""

    agent: str | None
    customer_id: int | None
    queue: str | None
    stamped: bool


class CompiledRouting:
    """The compiled statement and the connections it runs on: a pool of its own, sized to the
    calls routed at once, so that no call opens a connection (nor waits for the ORM's)."""

    def __init__(
        self,
        dsn: str,
        rules: Sequence[CompiledRule],
        *,
        pool_size: int,
        statement_timeout: float,
        synchronous_commit: bool = True,
        prepared_statements: bool = True,
    ) -> None:
        self.statement = compile_rules(rules)
        self.rules = tuple(rules)
        self._dsn = dsn
        self._pool_size = pool_size
        self._timeout = statement_timeout
        # False: these connections' commits do not wait for the WAL to reach the disk. A crash
        # of the database server may then lose the last fraction of a second of routed calls
        # (their contact-log rows and agent claims together); the statement no longer waits on
        # the disk (docs/scale.md: 3× the statements a second on a loaded machine).
        self._synchronous_commit = synchronous_commit
        # False behind PgBouncer before 1.21 in transaction pooling: no statement kept on a
        # server connection; the statement is then parsed and planned at every call.
        self._statement_cache = 100 if prepared_statements else 0
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _connections(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        async with self._opening:  # the first calls at start open one pool, not one each
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=1,
                    max_size=self._pool_size,
                    timeout=self._timeout,
                    command_timeout=self._timeout + 1,
                    statement_cache_size=self._statement_cache,
                    server_settings={
                        "jit": "off",
                        "statement_timeout": str(max(1, round(self._timeout * 1000))),
                        "synchronous_commit": "on" if self._synchronous_commit else "off",
                    },
                    # Nothing on these connections leaves session state behind: no reset
                    # query per release (asyncpg would send one).
                    reset=no_reset,
                )
        return self._pool

    async def route(self, call: PerCall) -> Routed:
        pool = await self._connections()
        row = await pool.fetchrow(
            self.statement,
            call.channel,
            call.call_id,
            call.direction,
            call.caller,
            call.from_number,
            call.to_number,
            call.now,
            list(call.holds),
            list(call.actions),
            list(call.queues),
            list(call.claims),
            call.unknown_language,
            call.ivr_digits,
        )
        if row is None:  # never: `d` has one row
            raise asyncpg.InterfaceError("the routing statement returned no row")
        rule = int(row["rule"]) - 1
        agent = row
        if row["locked_out"]:
            agent = await self._claim_again(pool, call, rule, row)
        return Routed(
            contact_id=row["contact_id"],
            rule=rule,
            customer_id=row["customer_id"],
            customer_name=row["name"],
            tier=row["tier"],
            language=row["lang"],
            agent=agent["login"] if agent else None,
            twilio_client=agent["twilio_client"] if agent else None,
            phone=agent["phone"] if agent else None,
        )

    async def _claim_again(
        self, pool: asyncpg.Pool, call: PerCall, rule: int, routed: asyncpg.Record
    ) -> asyncpg.Record | None:
        spec = self.rules[rule] if rule < len(self.rules) else None
        for delay in CLAIM_RETRIES:
            await asyncio.sleep(delay)
            row = await pool.fetchrow(
                CLAIM_AGAIN,
                routed["contact_id"],
                json.dumps(list(spec.skills) if spec else []),
                bool(spec and spec.agent_language),
                routed["lang"],
                call.now,
            )
            if row is not None:
                return row
        return None

    async def end(
        self, channel: str, call_id: str, now: datetime, cause: str | None, duration: int | None
    ) -> Ended | None:
        """End a call as `HANG_UP` says; None when no such call was logged."""
        pool = await self._connections()
        row = await pool.fetchrow(HANG_UP, channel, call_id, now, cause, duration)
        if row is None:
            return None
        return Ended(row["login"], row["customer_id"], row["queue"], row["stamped"])

    async def queues(self) -> list[dict[str, Any]]:
        pool = await self._connections()
        rows = await pool.fetch(_QUEUES)
        return [
            {
                **dict(r),
                "days": tuple(json.loads(r["days"]) if isinstance(r["days"], str) else r["days"] or ()),
            }
            for r in rows
        ]

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
