"""Supervisors decide the review's proposals, one by one or many at once. An approved
upgrade takes effect at once and the customer is told; an approved downgrade takes effect
`downgrade_days` later at the customer's midnight, and they are told `notice_days` before,
at the notice hour of their own day (the outbox holds the message until then). Every
decision and every change is in the audit trail: who, when, why."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import notify
from handlers.customers import TIERS
from handlers.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, QuotaExceeded
from handlers.roles import MANAGERS
from handlers.tiers.policy import TierPolicy, downgrade_dates
from handlers.tiers.review import quota
from storage import customers as customers_repo
from storage import tier_proposals as repo
from storage.audit import SYSTEM, Actor, audit
from storage.tier_proposals import ProposalRecord
from storage.users import UserRecord

log = logging.getLogger(__name__)

DECISIONS = ("approve", "reject")


def _require_manager(user: UserRecord) -> None:
    if user.role not in MANAGERS:
        raise Forbidden("only a supervisor or an admin may decide tier proposals")


async def decide(
    session: AsyncSession,
    user: UserRecord,
    proposal_id: int,
    decision: str,
    *,
    reason: str,
    policy: TierPolicy,
    now: datetime,
    via: str,
) -> ProposalRecord:
    """Approve or reject one pending proposal; commits. 409 when it is no longer pending
    (decided, or replaced by a newer review) or an upgrade would break its tier's quota."""
    _require_manager(user)
    if decision not in DECISIONS:
        raise InvalidInput("decision must be approve or reject", field="decision", allowed=list(DECISIONS))
    reason = reason.strip()[:500]
    proposal = await repo.locked(session, proposal_id)
    if proposal is None:
        raise NotFound("no such tier proposal", proposal_id=proposal_id)
    if proposal.state != "pending":
        await session.rollback()
        raise Conflict(f"this proposal is already {proposal.state}", state=proposal.state)
    actor = Actor.of(user, via)
    customer = await customers_repo.get(session, proposal.customer_id)
    if decision == "approve" and (customer is None or customer.tier != proposal.from_tier):
        # Someone changed the tier by hand since the review: its figures no longer apply.
        await session.rollback()
        raise Conflict("the customer's tier has changed since the review; reject this proposal")
    if decision == "reject":
        await repo.decide(
            session,
            proposal.id,
            state="rejected",
            by=user.login,
            at=now,
            reason=reason,
            effective_at=None,
            notice_at=None,
            applied_at=None,
        )
    elif proposal.direction == "up":
        await _check_quota(session, proposal, policy)
        await repo.decide(
            session,
            proposal.id,
            state="applied",
            by=user.login,
            at=now,
            reason=reason,
            effective_at=now,
            notice_at=now,
            applied_at=now,
        )
        await _apply(session, proposal, actor, approved_by=user.login, reason=reason)
        zone = policy.zone(customer.timezone if customer else None)
        await notify.enqueue(
            session,
            proposal.customer_id,
            kind="tier_change",
            template="tier_upgraded",
            payload={
                "from_tier": proposal.from_tier,
                "to_tier": proposal.to_tier,
                "effective": now.astimezone(zone).date().isoformat(),
            },
            dedupe_key=f"tier:{proposal.id}",
        )
    else:
        zone = policy.zone(customer.timezone if customer else None)
        day, effective_at, notice_at = downgrade_dates(now, zone, policy)
        await repo.decide(
            session,
            proposal.id,
            state="approved",
            by=user.login,
            at=now,
            reason=reason,
            effective_at=effective_at,
            notice_at=notice_at,
            applied_at=None,
        )
        await notify.enqueue(
            session,
            proposal.customer_id,
            kind="tier_change",
            template="tier_downgrade",
            payload={
                "from_tier": proposal.from_tier,
                "to_tier": proposal.to_tier,
                "effective": day.isoformat(),
            },
            dedupe_key=f"tier:{proposal.id}",
            at=notice_at,
        )
    await audit(
        session,
        actor=actor,
        action=f"tier.{decision}",
        customer_id=proposal.customer_id,
        subject_type="tier_proposal",
        subject_id=proposal.id,
        details={
            "from": proposal.from_tier,
            "to": proposal.to_tier,
            "reason": reason,
            "review": proposal.review_id,
        },
    )
    await session.commit()
    found = await repo.locked(session, proposal.id)
    await session.commit()
    return found or proposal


async def _check_quota(session: AsyncSession, proposal: ProposalRecord, policy: TierPolicy) -> None:
    """An upgrade may not push its tier over the quota, counting approved downgrades as done
    (approving many at once decides the downgrades first for this reason)."""
    share = policy.limits.shares.get(proposal.to_tier)
    if share is None:
        return
    counts = await repo.tiers_once_applied(session)
    total = sum(counts.values())
    allowed = quota(share, total)
    if counts.get(proposal.to_tier, 0) + 1 > allowed:
        await session.rollback()
        raise QuotaExceeded(
            f"{proposal.to_tier} would be over its quota of {allowed:,} customers; approve downgrades first",
            tier=proposal.to_tier,
            count=counts.get(proposal.to_tier, 0),
            limit=allowed,
        )


async def _apply(
    session: AsyncSession, proposal: ProposalRecord, actor: Actor, *, approved_by: str, reason: str
) -> None:
    """The tier changes, recorded as every tier change is (the profile's tier history)."""
    await customers_repo.update_fields(session, proposal.customer_id, tier=proposal.to_tier)
    await audit(
        session,
        actor=actor,
        action="customer.tier",
        customer_id=proposal.customer_id,
        subject_type="customer",
        subject_id=proposal.customer_id,
        details={
            "from": proposal.from_tier,
            "to": proposal.to_tier,
            "reason": f"tier review {proposal.review_id}" + (f": {reason}" if reason else ""),
            "forced": False,
            "proposal": proposal.id,
            "approved_by": approved_by,
        },
    )


def _order(p: ProposalRecord) -> tuple[int, int]:
    # Downgrades first, then upgrades to the highest tier: each frees the quota the next needs.
    return (0 if p.direction == "down" else 1 + TIERS.index(p.to_tier), p.id)


@dataclass(frozen=True)
class BulkOutcome:
    decided: list[int]
    refused: dict[int, str]  # proposal id → why


async def decide_many(
    session: AsyncSession,
    user: UserRecord,
    proposal_ids: Sequence[int],
    decision: str,
    *,
    reason: str,
    policy: TierPolicy,
    now: datetime,
    via: str,
) -> BulkOutcome:
    """Each proposal decided on its own (one refused does not stop the rest)."""
    _require_manager(user)
    if decision not in DECISIONS:
        raise InvalidInput("decision must be approve or reject", field="decision", allowed=list(DECISIONS))
    if not proposal_ids:
        raise InvalidInput("choose at least one proposal", field="ids")
    if len(proposal_ids) > 1000:
        raise InvalidInput("at most 1000 proposals at once", field="ids")
    found = {p.id: p for p in await repo.by_ids(session, proposal_ids)}
    await session.rollback()
    ordered = sorted(found.values(), key=_order)
    decided: list[int] = []
    refused: dict[int, str] = {i: "no such tier proposal" for i in proposal_ids if i not in found}
    for proposal in ordered:
        try:
            await decide(session, user, proposal.id, decision, reason=reason, policy=policy, now=now, via=via)
            decided.append(proposal.id)
        except DomainError as problem:
            await session.rollback()
            refused[proposal.id] = problem.message
    return BulkOutcome(decided, refused)


async def apply_due(session: AsyncSession, now: datetime) -> int:
    """Approved downgrades whose day has come take effect; commits. Returns how many."""
    due = await repo.due(session, now)
    for proposal in due:
        await _apply(
            session, proposal, SYSTEM, approved_by=proposal.decided_by or "", reason=proposal.reason or ""
        )
    if due:
        await repo.mark_applied(session, [p.id for p in due], now)
        await session.commit()
        log.info("%s approved tier downgrades took effect", len(due))
    return len(due)
