"""Bulk customer import from CSV: read, validate, match and upsert, one batch at a time.

Channel-neutral: the CLI is one caller, an upload endpoint could be another. The file is
streamed; only one batch of rows is held at a time. A row matches an existing customer
through any of its phones or its e-mail, and updates that customer; a row whose
identities belong to two different customers is rejected rather than merged silently
(merging is a supervisor's decision, `merge_customers`). A file that would push a tier
over its quota is refused before anything is loaded.

One concept per module: `rows` reads a row into a customer's fields (or rejects it),
`source` streams the file in parsed batches, `tier_quota` is the quota pass, `loading`
matches and upserts one batch, `run` is the use case.
"""

from handlers.importing.loading import Summary
from handlers.importing.rows import Rejected
from handlers.importing.run import import_customers
from handlers.importing.source import CsvSource

__all__ = ["CsvSource", "Rejected", "Summary", "import_customers"]
