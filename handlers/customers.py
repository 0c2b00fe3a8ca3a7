"""Customer use cases: identify a contact, link identities, merge, tier and blacklist changes."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import Conflict, Forbidden, InvalidInput, NotFound, QuotaExceeded
from handlers.identities import mask, normalise
from handlers.roles import ADMIN, MANAGERS
from storage import audit as trail
from storage import customers as repo
from storage import users as audit_repo
from storage.customers import CustomerRecord, Identity, NewCustomerRow
from storage.keep import KEEP
from storage.users import SYSTEM, Actor, UserRecord

log = logging.getLogger(__name__)

TIERS = ("vip", "preferred", "regular")


@dataclass(frozen=True)
class TierLimits:
    """Share of all customers a tier may hold at most (the operator's rule: 15% and 30%)."""

    shares: Mapping[str, float] = field(default_factory=lambda: {"vip": 0.15, "preferred": 0.30})


@dataclass(frozen=True)
class TierShare:
    """A tier's share of all customers, as it would be after a change, against its limit."""

    tier: str
    count: int
    total: int
    limit: float

    @property
    def share(self) -> float:
        return self.count / self.total if self.total else 0.0

    def describe(self) -> str:
        return (
            f"{self.tier} would be {self.count:,} of {self.total:,} customers ({_percent(self.share)}), "
            f"above the {_percent(self.limit)} limit"
        )

    def details(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "count": self.count,
            "total": self.total,
            "share": round(self.share, 4),
            "limit": self.limit,
        }


def _percent(fraction: float) -> str:
    return f"{fraction:.1%}".replace(".0%", "%")


def over_quota(counts: Mapping[str, int], limits: TierLimits, grown: Iterable[str]) -> list[TierShare]:
    """The tiers among `grown` whose share of all customers in `counts` (customers by tier
    after a change) is above their limit. Only a tier the change grows can be refused: a
    base already over a limit (an admin forced it) still takes new regular customers."""
    total = sum(counts.values())
    over = []
    for tier in grown:
        limit = limits.shares.get(tier)
        count = counts.get(tier, 0)
        if limit is not None and total and count / total > limit:
            over.append(TierShare(tier, count, total, limit))
    return over


@dataclass(frozen=True)
class NewCustomer:
    name: str = ""
    phones: tuple[str, ...] = ()
    email: str | None = None
    telegram_id: str | None = None
    tier: str = "regular"
    language: str | None = None
    region: str | None = None
    timezone: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


def _require_role(actor: UserRecord | None, roles: frozenset[str], what: str) -> None:
    if actor is None or actor.role not in roles:
        raise Forbidden(f"only {' or '.join(sorted(roles))} may {what}")


async def resolve(session: AsyncSession, customer_id: int) -> CustomerRecord | None:
    """Follow a merged record to the customer who absorbed it."""
    seen: set[int] = set()
    record = await repo.get(session, customer_id)
    while record is not None and record.merged_into_id is not None and record.id not in seen:
        seen.add(record.id)
        record = await repo.get(session, record.merged_into_id)
    return record


async def _must(session: AsyncSession, customer_id: int) -> CustomerRecord:
    record = await repo.get(session, customer_id)
    if record is None:
        raise NotFound("no such customer", customer_id=customer_id)
    return record


async def identify(
    session: AsyncSession, kind: str, raw: str, *, region: str = "CN"
) -> CustomerRecord | None:
    """The customer behind an identity in any accepted spelling, or None for a stranger."""
    value = normalise(kind, raw, region)
    customer_id = await repo.find_id_by_identity(session, kind, value)
    return None if customer_id is None else await resolve(session, customer_id)


async def get_profile(
    session: AsyncSession, actor: UserRecord, customer_id: int, *, via: str
) -> CustomerRecord:
    """A customer's profile for a user; every read is audited (records are confidential),
    naming the door (`api`, `console`)."""
    record = await resolve(session, customer_id)
    if record is None:
        raise NotFound("no such customer", customer_id=customer_id)
    await audit_repo.audit(
        session,
        actor=Actor.of(actor, via),
        action="customer.read",
        customer_id=record.id,
        subject_type="customer",
        subject_id=record.id,
    )
    await session.commit()
    return record


async def find_by_phone(
    session: AsyncSession, actor: UserRecord, raw: str, *, region: str = "CN"
) -> CustomerRecord | None:
    record = await identify(session, "phone", raw, region=region)
    await audit_repo.audit(
        session,
        actor=Actor.of(actor, "api"),
        action="customer.search",
        customer_id=record.id if record else None,
        subject_type="customer",
        subject_id=record.id if record else "-",
        details={"phone": mask(normalise("phone", raw, region))},
    )
    await session.commit()
    return record


def _identities(new: NewCustomer, region: str) -> list[Identity]:
    found = [Identity("phone", normalise("phone", p, region)) for p in new.phones if p.strip()]
    if new.email:
        found.append(Identity("email", normalise("email", new.email, region)))
    if new.telegram_id:
        found.append(Identity("telegram", normalise("telegram", new.telegram_id, region)))
    unique: dict[tuple[str, str], Identity] = {(i.kind, i.value): i for i in found}
    return list(unique.values())


async def create_customer(
    session: AsyncSession, actor: UserRecord | None, new: NewCustomer, *, region: str = "CN"
) -> CustomerRecord:
    if new.tier not in TIERS:
        raise InvalidInput("unknown tier", field="tier", allowed=list(TIERS))
    identities = _identities(new, region)
    for identity in identities:
        owner = await repo.find_id_by_identity(session, identity.kind, identity.value)
        if owner is not None:
            raise Conflict(
                f"this {identity.kind} already belongs to customer {owner}",
                field=identity.kind,
                customer_id=owner,
            )
    customer_id = await repo.create(
        session,
        NewCustomerRow(
            name=new.name.strip(),
            tier=new.tier,
            language=new.language,
            region=new.region,
            timezone=new.timezone,
            attributes=dict(new.attributes),
        ),
        identities,
    )
    await audit_repo.audit(
        session,
        actor=Actor.of(actor, "api") if actor else SYSTEM,
        action="customer.create",
        customer_id=customer_id,
        subject_type="customer",
        subject_id=customer_id,
    )
    await session.commit()
    return await _must(session, customer_id)


async def link_identity(
    session: AsyncSession,
    actor: UserRecord,
    customer_id: int,
    kind: str,
    raw: str,
    *,
    region: str = "CN",
) -> CustomerRecord:
    """Attach a phone, Telegram id or e-mail to a customer; linking twice is harmless.

    Supervisors and admins only: whoever holds a linked identity is that customer to every
    channel (notifications, the bot's /status, verified Rasa senders), so an agent linking
    their own account would read and act as any customer."""
    _require_role(actor, MANAGERS, "link an identity to a customer")
    record = await resolve(session, customer_id)
    if record is None:
        raise NotFound("no such customer", customer_id=customer_id)
    value = normalise(kind, raw, region)
    owner = await repo.find_id_by_identity(session, kind, value)
    if owner == record.id:
        return record
    if owner is not None:
        raise Conflict(
            f"this {kind} belongs to customer {owner}; merge the two customers instead",
            customer_id=owner,
        )
    await repo.add_identity(session, record.id, Identity(kind, value))
    await audit_repo.audit(
        session,
        actor=Actor.of(actor, "api"),
        action="customer.link",
        customer_id=record.id,
        subject_type="customer",
        subject_id=record.id,
        details={"kind": kind, "value": mask(value)},
    )
    await session.commit()
    log.info("linked %s identity %s to customer %s", kind, mask(value), record.id)
    return await _must(session, record.id)


async def merge_customers(
    session: AsyncSession, actor: UserRecord, source_id: int, target_id: int
) -> CustomerRecord:
    """Two records that are one person become one: the target keeps everything of both."""
    _require_role(actor, MANAGERS, "merge customers")
    source = await resolve(session, source_id)
    target = await resolve(session, target_id)
    if source is None or target is None:
        raise NotFound("no such customer", customer_id=source_id if source is None else target_id)
    if source.id == target.id:
        raise InvalidInput("a customer cannot be merged into itself")
    await repo.merge(session, source.id, target.id)
    # The stricter status wins: a merged person keeps a blacklist or an opt-out.
    blacklist = source.blacklisted and not target.blacklisted
    await repo.update_fields(
        session,
        target.id,
        blacklisted=True if blacklist else KEEP,
        blacklist_reason=source.blacklist_reason if blacklist else KEEP,
        marketing_opt_out=True if source.marketing_opt_out and not target.marketing_opt_out else KEEP,
        tier=source.tier if TIERS.index(source.tier) < TIERS.index(target.tier) else KEEP,
        name=source.name if source.name and not target.name else KEEP,
        attributes={**source.attributes, **target.attributes} if source.attributes else KEEP,
    )
    await audit_repo.audit(
        session,
        actor=Actor.of(actor, "api"),
        action="customer.merge",
        customer_id=target.id,
        subject_type="customer",
        subject_id=target.id,
        details={"merged": source.id},
    )
    await session.commit()
    return await _must(session, target.id)


async def change_tier(
    session: AsyncSession,
    actor: UserRecord,
    customer_id: int,
    tier: str,
    *,
    reason: str,
    force: bool = False,
    limits: TierLimits | None = None,
    via: str,
) -> CustomerRecord:
    _require_role(actor, MANAGERS, "change a customer's tier")
    if tier not in TIERS:
        raise InvalidInput("unknown tier", field="tier", allowed=list(TIERS))
    if not reason.strip():
        raise InvalidInput("a tier change needs a reason", field="reason")
    if force and actor.role != ADMIN:
        raise Forbidden("only an admin may force a tier change past its quota")
    record = await resolve(session, customer_id)
    if record is None:
        raise NotFound("no such customer", customer_id=customer_id)
    if record.tier == tier:
        return record
    quotas = limits or TierLimits()
    if not force and tier in quotas.shares:
        counts = await repo.count_by_tier(session)
        after = {**counts, record.tier: counts.get(record.tier, 0) - 1, tier: counts.get(tier, 0) + 1}
        for over in over_quota(after, quotas, [tier]):
            raise QuotaExceeded(f"{over.describe()}; an admin may force it", **over.details())
    await repo.update_fields(session, record.id, tier=tier)
    await audit_repo.audit(
        session,
        actor=Actor.of(actor, via),
        action="customer.tier",
        customer_id=record.id,
        subject_type="customer",
        subject_id=record.id,
        details={"from": record.tier, "to": tier, "reason": reason.strip(), "forced": force},
    )
    await session.commit()
    return await _must(session, record.id)


async def set_blacklist(
    session: AsyncSession,
    actor: UserRecord,
    customer_id: int,
    blacklisted: bool,
    *,
    reason: str,
    via: str,
) -> CustomerRecord:
    _require_role(actor, MANAGERS, "blacklist a customer")
    if blacklisted and not reason.strip():
        raise InvalidInput("blacklisting needs a reason", field="reason")
    record = await resolve(session, customer_id)
    if record is None:
        raise NotFound("no such customer", customer_id=customer_id)
    await repo.update_fields(
        session,
        record.id,
        blacklisted=blacklisted,
        blacklist_reason=reason.strip() if blacklisted else None,
    )
    await audit_repo.audit(
        session,
        actor=Actor.of(actor, via),
        action="customer.blacklist" if blacklisted else "customer.unblacklist",
        customer_id=record.id,
        subject_type="customer",
        subject_id=record.id,
        details={"reason": reason.strip()},
    )
    await session.commit()
    return await _must(session, record.id)


@dataclass(frozen=True)
class Amendment:
    """What a supervisor changes on a customer at once (the API's PATCH, the profile page's
    forms): a tier, a blacklist, or both, with the reason each needs."""

    tier: str | None = None
    blacklisted: bool | None = None
    reason: str = ""
    force: bool = False


async def amend(
    session: AsyncSession,
    actor: UserRecord,
    customer_id: int,
    change: Amendment,
    *,
    limits: TierLimits,
    via: str,
) -> CustomerRecord:
    """The blacklist first, then the tier under its quota: each commits on its own."""
    record = None
    if change.blacklisted is not None:
        record = await set_blacklist(
            session, actor, customer_id, change.blacklisted, reason=change.reason, via=via
        )
    if change.tier is not None:
        record = await change_tier(
            session,
            actor,
            customer_id,
            change.tier,
            reason=change.reason,
            force=change.force,
            limits=limits,
            via=via,
        )
    if record is None:
        raise InvalidInput("nothing to change: give tier and/or blacklisted, with a reason")
    return record


@dataclass(frozen=True)
class TierChange:
    at: datetime
    by: str
    old: str
    new: str
    reason: str
    forced: bool


async def tier_history(session: AsyncSession, customer_id: int) -> list[TierChange]:
    """The customer's tier changes, newest first, as the audit trail recorded them."""
    entries = await trail.customer_changes(session, customer_id, ("customer.tier",), limit=20)
    return [
        TierChange(
            at=e.at,
            # A tier review's downgrade is applied by the worker on its day: the approver is who.
            by=str(e.details.get("approved_by") or e.actor),
            old=str(e.details.get("from", "")),
            new=str(e.details.get("to", "")),
            reason=str(e.details.get("reason", "")),
            forced=bool(e.details.get("forced")),
        )
        for e in entries
    ]
