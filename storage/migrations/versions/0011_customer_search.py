"""customer search: an index for the console's search by name prefix (PostgreSQL)

Revision ID: 0011
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite searches names by scanning: LIKE there cannot use an expression index with a
    # byte-order collation, and its bases are small.
    if op.get_bind().dialect.name == "postgresql":
        op.execute('CREATE INDEX ix_customers_name_search ON customers ((lower(name) COLLATE "C"), id)')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_customers_name_search")
