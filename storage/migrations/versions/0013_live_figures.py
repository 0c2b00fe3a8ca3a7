"""live figures: today's contacts by a range of created_at, and the calls waiting now by a
partial index that holds only routed calls not yet answered nor ended

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# As storage/models/routing.py CONTACTS_WAITING says it (a migration keeps its own copy).
WAITING = "action = 'route' AND answered_at IS NULL AND ended_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index("ix_contacts_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_contacts_waiting",
            ["queue", "created_at"],
            unique=False,
            postgresql_where=sa.text(WAITING),
            sqlite_where=sa.text(WAITING),
        )


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_waiting")
        batch_op.drop_index("ix_contacts_created_at")
