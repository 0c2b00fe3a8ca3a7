"""Apply Alembic migrations from code (`contactdesk db upgrade`, `serve` on SQLite, tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from storage.db import normalise_url
from storage.models.customers import NAME_SEARCH_INDEX

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would choke on a '%' in a password.
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def compared(name: str | None, type_: str, _parents: object) -> bool:
    """Alembic's `include_name`: what autogenerate and the schema check compare. An index only
    a migration creates (an expression on PostgreSQL) has no model to be compared with."""
    return not (type_ == "index" and name == NAME_SEARCH_INDEX)


def upgrade_sync(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade_sync(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    # Alembic's env.py starts its own event loop; keep it off ours.
    await asyncio.to_thread(upgrade_sync, url, revision)
