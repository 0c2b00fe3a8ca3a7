"""The import file: a CSV read as a stream, one batch at a time, parsed in a thread or,
for a large file, in worker processes."""

from __future__ import annotations

import asyncio
import csv
import io
import multiprocessing
import os
from collections import deque
from collections.abc import AsyncGenerator, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from handlers.errors import InvalidInput
from handlers.importing.rows import Columns, Rejected, parse_row, read_header
from handlers.phone_fast import PhoneReader
from storage import importing as store


class CsvSource:
    """Rows of a CSV file with their line numbers, read as UTF-8 (a BOM is fine).

    `position` is how many bytes have been read from the file, for a progress bar.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._binary = open(path, "rb")  # noqa: SIM115 - closed by close() or the with block
        self.size = os.fstat(self._binary.fileno()).st_size
        self._text = io.TextIOWrapper(self._binary, encoding="utf-8-sig", newline="")
        self._reader = csv.reader(self._text)
        try:
            header = next(self._reader, None)
            if header is None:
                raise InvalidInput("the file is empty; it needs a header row", field="file")
            self.columns = read_header(header)
        except UnicodeDecodeError as error:
            self.close()
            raise InvalidInput(f"the file is not UTF-8 ({error.reason})", field="file") from error
        except csv.Error as error:
            self.close()
            raise InvalidInput(f"cannot read the header row: {error}", field="file") from error
        except InvalidInput:
            self.close()
            raise

    def close(self) -> None:
        self._text.close()

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def position(self) -> int:
        return self._binary.tell()

    def rewind(self) -> None:
        """Back to the first row after the header, for a second pass over the file."""
        self._text.seek(0)
        self._reader = csv.reader(self._text)
        next(self._reader)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        line = self._reader.line_num
        while True:
            try:
                values = next(self._reader, None)
            except UnicodeDecodeError as error:
                raise InvalidInput(
                    f"the file is not UTF-8 ({error.reason}), somewhere after line {line}"
                ) from error
            except csv.Error as error:
                raise InvalidInput(f"line {line + 1}: {error}") from error
            if values is None:
                return
            start, line = line + 1, self._reader.line_num
            if values and "".join(values).strip():  # blank lines (or only empty cells) are not rows
                yield start, values

    def batches(self, size: int) -> Iterator[list[tuple[int, list[str]]]]:
        batch: list[tuple[int, list[str]]] = []
        for row in self.rows():
            batch.append(row)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch


Batch = list[tuple[int, list[str]]]
Parsed = tuple[list[store.ImportRow], list[Rejected]]

# A file is parsed in worker processes only when it is this large and the machine has this
# many cores: the importer and PostgreSQL each keep one busy, and a parser without a core
# of its own only adds the cost of shipping rows both ways. Measured on two cores (docs/
# import.md): the processes made imports of 10,000 to 100,000 rows 20-35% slower than the
# thread, so there the thread stays.
POOL_MIN_BYTES = 4_000_000
POOL_MIN_CORES = 4

# The columns and the phone reader of the file a worker process parses, set once by the
# pool's initializer in that process (a forked child: nothing is pickled but the rows).
_worker_file: tuple[Columns, PhoneReader] | None = None


def parse_batch(batch: Batch, columns: Columns, phones: PhoneReader) -> Parsed:
    good: list[store.ImportRow] = []
    bad: list[Rejected] = []
    for line, values in batch:
        parsed = parse_row(columns, values, line, phones)
        if isinstance(parsed, Rejected):
            bad.append(parsed)
        else:
            good.append(parsed)
    return good, bad


def _start_worker(columns: Columns, phones: PhoneReader) -> None:
    global _worker_file  # the worker process's own state, set once at its start
    _worker_file = (columns, phones)


def _parse_in_worker(batch: Batch) -> Parsed:
    if _worker_file is None:
        raise RuntimeError("a parse worker started without its file")
    return parse_batch(batch, *_worker_file)


@dataclass(frozen=True)
class ParsePool:
    executor: ProcessPoolExecutor
    ahead: int  # batches parsed ahead of the caller: one per process


@contextmanager
def parse_pool(source: CsvSource, phones: PhoneReader) -> Iterator[ParsePool | None]:
    """Worker processes that parse `source`'s rows (one per core beyond the importer's and
    PostgreSQL's, at most three), or None for a file too small to pay for them, on a
    machine without cores to spare, or where processes cannot be forked."""
    cores = os.cpu_count() or 1
    if (
        source.size < POOL_MIN_BYTES
        or cores < POOL_MIN_CORES
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        yield None
        return
    workers = max(1, min(3, cores - 2))
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(source.columns, phones),
    ) as executor:
        yield ParsePool(executor, workers)


async def parsed_batches(
    source: CsvSource, phones: PhoneReader, batch_size: int, pool: ParsePool | None = None
) -> AsyncGenerator[Parsed, None]:
    """The file's batches, parsed ahead while the caller works on the current one (parsing
    is about half of an import's time, and the database works on another core). Use it
    inside `aclosing`, so that nothing is left reading a closed file.

    Without a pool the next batch is read and parsed in a thread (at most two batches in
    memory). With one, this reads and the pool's processes parse, one batch ahead per
    process: the thread shared the GIL with the event loop, the processes do not. A read
    error (invalid UTF-8, a broken quote) is raised after the batches before it."""
    batches = source.batches(max(1, batch_size))
    if pool is None:
        parsed = await asyncio.to_thread(_read_and_parse, batches, source.columns, phones)
        while parsed is not None:
            upcoming = asyncio.create_task(
                asyncio.to_thread(_read_and_parse, batches, source.columns, phones)
            )
            try:
                yield parsed
            finally:
                parsed = await upcoming
        return
    loop = asyncio.get_running_loop()
    ahead: deque[asyncio.Future[Parsed]] = deque()
    failed: InvalidInput | None = None
    try:
        while True:
            while failed is None and len(ahead) <= pool.ahead:
                try:
                    batch = next(batches, None)
                except InvalidInput as error:
                    failed = error
                    break
                if batch is None:
                    break
                ahead.append(loop.run_in_executor(pool.executor, _parse_in_worker, batch))
            if not ahead:
                break
            yield await ahead.popleft()
    finally:
        for future in ahead:
            future.cancel()
    if failed is not None:
        raise failed


def _read_and_parse(batches: Iterator[Batch], columns: Columns, phones: PhoneReader) -> Parsed | None:
    """Read and parse the next batch; None at the end of the file."""
    batch = next(batches, None)
    return None if batch is None else parse_batch(batch, columns, phones)
