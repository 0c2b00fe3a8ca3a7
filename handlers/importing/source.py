"""The import file: a CSV read as a stream, one batch at a time, parsed in a thread."""

from __future__ import annotations

import asyncio
import csv
import io
import os
from collections.abc import AsyncGenerator, Iterator

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
            if values and any(v.strip() for v in values):  # blank lines are not rows
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


def _parse_batch(
    batches: Iterator[list[tuple[int, list[str]]]], columns: Columns, phones: PhoneReader
) -> tuple[list[store.ImportRow], list[Rejected]] | None:
    """Read and parse the next batch; None at the end of the file."""
    batch = next(batches, None)
    if batch is None:
        return None
    good: list[store.ImportRow] = []
    bad: list[Rejected] = []
    for line, values in batch:
        parsed = parse_row(columns, values, line, phones)
        if isinstance(parsed, Rejected):
            bad.append(parsed)
        else:
            good.append(parsed)
    return good, bad


async def parsed_batches(
    source: CsvSource, phones: PhoneReader, batch_size: int
) -> AsyncGenerator[tuple[list[store.ImportRow], list[Rejected]], None]:
    """The file's batches, parsed: the next one is read and parsed in a thread while the
    caller works on the current one (parsing is about half of an import's time, and the
    database works on another core). At most two batches are in memory. Use it inside
    `aclosing`, so that the reader thread is never left running against a closed file."""
    batches = source.batches(max(1, batch_size))
    parsed = _parse_batch(batches, source.columns, phones)
    while parsed is not None:
        upcoming = asyncio.create_task(asyncio.to_thread(_parse_batch, batches, source.columns, phones))
        try:
            yield parsed
        finally:
            parsed = await upcoming
