"""an index of the merged customer records (issue 17: a merge scanned every customer)

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

MERGED = "merged_into_id IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_customers_merged_into_id",
        "customers",
        ["merged_into_id"],
        postgresql_where=sa.text(MERGED),
        sqlite_where=sa.text(MERGED),
    )


def downgrade() -> None:
    op.drop_index("ix_customers_merged_into_id", table_name="customers")
