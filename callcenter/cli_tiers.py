"""`contactdesk tiers review`: grade every customer now and print what it proposes. The
proposals wait for a supervisor on /supervisor/tiers; no tier changes here."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, TextIO

from callcenter.bootstrap import Bootstrap
from callcenter.cli_actor import operator
from storage.models.base import utcnow

# Exit codes as `import customers`: 1 some rows rejected, 2 the file could not be read.
SOME_REJECTED, UNREADABLE = 1, 2


def add_parser(commands: Any) -> None:
    tiers = commands.add_parser("tiers", help="the half-yearly tier review")
    kinds = tiers.add_subparsers(dest="tiers_command", required=True)
    kinds.add_parser("review", help="grade every customer now; proposals wait for a supervisor")


async def run(boot: Bootstrap, args: argparse.Namespace) -> int:
    from handlers.tiers.review import run_review

    policy = boot.policies.tiers
    async with boot.command_session() as session:
        outcome = await run_review(session, operator("cli"), policy, utcnow())
    if outcome is None:
        print("contactdesk: another tier review is running; try again when it has finished")
        return 1
    review = outcome.review
    print(
        f"Tier review {review.id}: {review.graded:,} customers graded "
        f"(VIP quota {review.vip_quota:,}, preferred quota {review.preferred_quota:,}), "
        f"six months' revenue {review.revenue:,.2f}."
    )
    print(f"{review.proposals:,} proposals wait for a supervisor at /supervisor/tiers:")
    for change, count in sorted(outcome.proposed.items()):
        print(f"  {change:<20} {count:,}")
    if outcome.superseded:
        print(f"{outcome.superseded:,} undecided proposals of the last review were replaced.")
    return 0


def import_spend_command(boot: Bootstrap, path: str) -> int:
    from handlers.errors import InvalidInput
    from handlers.tiers.spend_import import SpendImport, import_spend

    async def load(text: TextIO) -> SpendImport:
        async with boot.command_session() as session:
            return await import_spend(session, text, region=boot.settings.default_region)

    try:
        with open(path, encoding="utf-8-sig", newline="") as text:
            outcome = asyncio.run(load(text))
    except (OSError, UnicodeDecodeError, InvalidInput) as problem:
        print(f"contactdesk: {path}: {getattr(problem, 'message', problem)}", file=sys.stderr)
        return UNREADABLE
    for line, why in outcome.rejected:
        print(f"line {line}: {why}", file=sys.stderr)
    print(f"{outcome.loaded:,} monthly bills loaded, {len(outcome.rejected):,} rows rejected")
    return SOME_REJECTED if outcome.rejected else 0
