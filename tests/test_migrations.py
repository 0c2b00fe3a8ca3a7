"""Every migration upgrades and downgrades cleanly, one step at a time, on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage.db import create_engine
from storage.migrate import alembic_config, compared, downgrade_sync, upgrade_sync
from storage.models import Base
from tests.conftest import create_postgres_database, drop_postgres_database


def revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('stairway') / 'db.sqlite'}"
        return
    admin: str = request.getfixturevalue("postgres_server")
    url = create_postgres_database(admin)
    yield url
    drop_postgres_database(admin, url)


def test_there_is_exactly_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_stairway_up_down_up_every_revision(fresh_database: str) -> None:
    previous = "base"
    for revision in revisions():
        upgrade_sync(fresh_database, revision)
        downgrade_sync(fresh_database, previous)
        upgrade_sync(fresh_database, revision)
        previous = revision


async def test_the_migrated_schema_is_exactly_what_the_models_describe(database_url: str) -> None:
    """A model changed without a migration (or the reverse) shows here, on both engines."""
    engine = create_engine(database_url)

    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": compared}
        )
        return list(compare_metadata(context, Base.metadata))

    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(differences)
    finally:
        await engine.dispose()
    assert found == []
