"""`contactdesk import customers FILE.csv`: the terminal side of the bulk import.

Exit codes: 0 every row loaded; 1 the file was read to the end but some rows were
rejected (each named on stderr with its line number); 2 nothing more could be done:
the file is missing, unreadable, not UTF-8, or its header names neither `phone` nor
`email`, or the database failed; 3 refused before loading anything: the file would push
a tier over its quota (`--force-tiers` overrides, recorded in the audit trail). Batches
committed before a code-2 stop stay loaded; running the same file again finishes the job
without duplicates.

The command line has no sign-in: whoever can run it with the database's URL can write
to the database anyway. `--force-tiers` is therefore an operator's decision, recorded
under the operating-system user who ran it (`cli:<user>`).
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from callcenter.cli_actor import operator
from callcenter.settings import Settings, tier_limits
from handlers.errors import InvalidInput, QuotaExceeded
from handlers.importing import CsvSource, Rejected, Summary, import_customers
from storage.db import create_engine, create_sessionmaker, is_sqlite, normalise_url
from storage.migrate import upgrade_sync

# Without a terminal (a cron job, CI), one plain line per this many rows.
PROGRESS_EVERY = 100_000


class Progress:
    """A tqdm bar by bytes read on a terminal; plain lines on stdout otherwise."""

    def __init__(self, source: CsvSource, out: TextIO, err: TextIO, *, every: int = PROGRESS_EVERY) -> None:
        self._source = source
        self._every = every
        self._out, self._err = out, err
        self._size = source.size
        self._done = 0
        self._next_line = every
        self._bar: tqdm | None = None
        if out.isatty():
            self._bar = tqdm(total=self._size, unit="B", unit_scale=True, desc="import", file=out)

    def batch(self, summary: Summary, rejected: list[Rejected]) -> None:
        for rejection in rejected:
            message = f"line {rejection.line}: {rejection.reason}"
            if self._bar is not None:
                self._bar.write(message, file=self._err)
            else:
                print(message, file=self._err)
        position = self._source.position
        if self._bar is not None:
            self._bar.update(position - self._done)
            self._done = position
            return
        rows = summary.loaded + summary.rejected
        if rows >= self._next_line:
            share = position / self._size if self._size else 1.0
            print(f"{rows} rows read ({share:.0%} of the file)", file=self._out, flush=True)
            while self._next_line <= rows:
                self._next_line += self._every

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


async def _run(settings: Settings, path: str, batch_size: int, force_tiers: bool) -> Summary:
    with CsvSource(path) as source:
        progress = Progress(source, sys.stdout, sys.stderr)
        engine = create_engine(
            settings.database_url, prepared_statements=settings.database_prepared_statements
        )
        try:
            async with create_sessionmaker(engine)() as session:
                return await import_customers(
                    session,
                    source,
                    actor=operator("import"),
                    region=settings.default_region,
                    limits=tier_limits(settings),
                    force_tiers=force_tiers,
                    batch_size=batch_size,
                    on_batch=progress.batch,
                )
        finally:
            progress.close()
            await engine.dispose()


def import_customers_command(
    settings: Settings, path: str, *, batch_size: int = 2000, force_tiers: bool = False
) -> int:
    url = normalise_url(settings.database_url)
    try:
        if is_sqlite(url):
            upgrade_sync(url)
        summary = asyncio.run(_run(settings, path, batch_size, force_tiers))
    except QuotaExceeded as error:
        print(
            f"contactdesk: {path}: refused, nothing was loaded: {error.message}. "
            "If the operator's rules allow it, run the import again with --force-tiers "
            "(recorded in the audit trail).",
            file=sys.stderr,
        )
        return 3
    except InvalidInput as error:
        print(f"contactdesk: {path}: {error.message}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"contactdesk: cannot read {path}: {error.strerror}", file=sys.stderr)
        return 2
    except SQLAlchemyError as error:
        print(f"contactdesk: the database failed: {error}", file=sys.stderr)
        return 2
    for forced in summary.tiers_forced:
        print(f"tier quota overridden with --force-tiers (recorded in the audit trail): {forced}")
    print(f"created {summary.created}, updated {summary.updated}, rejected {summary.rejected}")
    return 1 if summary.rejected else 0
