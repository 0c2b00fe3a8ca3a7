"""Cross-sell: the next offer for a customer, from the catalogue's rules and what customers
with similar holdings hold ("搭车销售"). The agent's screen pop, the Rasa action and the
campaigns all show the same best offer."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources

from sqlalchemy.ext.asyncio import AsyncSession

from storage import offers as repo
from storage.offers import OfferFacts


@dataclass(frozen=True)
class Offer:
    code: str
    requires: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    min_tenure_days: int = 0
    pitch: str = "add-on"


@dataclass(frozen=True)
class OfferView:
    code: str
    name: str
    pitch: str
    peers: int  # customers with similar holdings who hold it
    reason: str


@functools.cache
def shipped_catalogue() -> tuple[Offer, ...]:
    """The catalogue shipped in handlers/offers.toml, read once per process: it changes only
    with a release, and a screen pop should not read a file."""
    text = resources.files("handlers").joinpath("offers.toml").read_text(encoding="utf-8")
    return tuple(
        Offer(
            code=str(raw["code"]),
            requires=tuple(raw.get("requires", ())),
            excludes=tuple(raw.get("excludes", ())),
            tiers=tuple(raw.get("tiers", ())),
            min_tenure_days=int(raw.get("min_tenure_days", 0)),
            pitch=str(raw.get("pitch", "add-on")),
        )
        for raw in tomllib.loads(text).get("offer", [])
    )


def eligible(offer: Offer, facts: OfferFacts, today: date) -> bool:
    return (
        offer.code not in facts.held
        and offer.code in facts.names
        and set(offer.requires) <= facts.held
        and not set(offer.excludes) & facts.held
        and (not offer.tiers or facts.tier in offer.tiers)
        and (today - facts.customer_since).days >= offer.min_tenure_days
    )


async def best_offer(
    session: AsyncSession,
    customer_id: int,
    *,
    catalogue: tuple[Offer, ...] | None = None,
    today: date | None = None,
) -> OfferView | None:
    """The eligible offer most held by similar customers; none for a blacklisted customer
    or one with an open complaint (selling to an unhappy customer backfires). `catalogue`
    replaces the shipped one (tests)."""
    facts = await repo.facts(session, customer_id)
    candidates = _candidates(facts, catalogue, today)
    if facts is None or not candidates:
        return None
    return _best(facts, candidates, await repo.peer_counts(session, customer_id))


def offer_from(facts: OfferFacts | None, peers: Mapping[str, int] | None) -> OfferView | None:
    """`best_offer` with the shipped catalogue, from facts and peers read already (the screen
    pop's one statement: peers None when no offer may be made, counted for the catalogue's
    products)."""
    candidates = _candidates(facts, None, None)
    if facts is None or not candidates or peers is None:
        return None
    return _best(facts, candidates, peers)


def _candidates(
    facts: OfferFacts | None, catalogue: tuple[Offer, ...] | None, today: date | None
) -> list[Offer]:
    if facts is None or facts.blacklisted or facts.open_complaints:
        return []
    today = today or datetime.now(UTC).date()
    offers = shipped_catalogue() if catalogue is None else catalogue
    return [o for o in offers if eligible(o, facts, today)]


def _best(facts: OfferFacts, candidates: list[Offer], peers: Mapping[str, int]) -> OfferView:
    # Ties keep the catalogue's order, so a new customer with no peers still gets the first.
    best = max(candidates, key=lambda o: (peers.get(o.code, 0), -candidates.index(o)))
    count = peers.get(best.code, 0)
    reason = f"{count} customers with similar products hold it" if count else "recommended in the catalogue"
    return OfferView(best.code, facts.names[best.code], best.pitch, count, reason)


async def on_sale(session: AsyncSession) -> dict[str, str]:
    """The shipped catalogue's offers that a product names, in the catalogue's order: code →
    the name customers read. A campaign offers only these; the code stays inside."""
    names = await repo.product_names(session, [offer.code for offer in shipped_catalogue()])
    return {offer.code: names[offer.code] for offer in shipped_catalogue() if offer.code in names}


async def customer_name(session: AsyncSession, code: str | None) -> str:
    """What a customer reads for an offer: its product's name, never its code ("" for none)."""
    if not code:
        return ""
    return (await repo.product_names(session, [code])).get(code, "")


async def products(session: AsyncSession) -> dict[str, str]:
    """Every product, code → name, by name: what an audience may hold or lack."""
    return await repo.product_names(session)
