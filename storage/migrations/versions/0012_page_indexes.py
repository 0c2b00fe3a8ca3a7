"""page indexes: the satisfaction page's weekly scores and open complaints by age, and the
campaign page's counts, skip reasons and send rate read from indexes alone (INCLUDE on
PostgreSQL; plain indexes on SQLite); an ended campaign's settled target tallies

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The covering index serves every range on created_at, so it replaces the plain one.
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.create_index(
            "ix_surveys_created_scores",
            ["created_at"],
            unique=False,
            postgresql_include=["kind", "answered_at", "score"],
        )
        batch_op.drop_index("ix_surveys_created_at")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index(
            "ix_complaints_state_ages",
            ["state"],
            unique=False,
            postgresql_include=["created_at", "resolve_due_at"],
        )
        batch_op.drop_index("ix_complaints_state")
    with op.batch_alter_table("campaign_targets", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_targets_due")
        batch_op.create_index(
            "ix_campaign_targets_due",
            ["campaign_id", "status", "next_attempt_at"],
            unique=False,
            postgresql_include=["reason"],
        )
        batch_op.create_index("ix_campaign_targets_sent", ["campaign_id", "sent_at"], unique=False)
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "settled_tallies",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("settled_tallies")
    with op.batch_alter_table("campaign_targets", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_targets_sent")
        batch_op.drop_index("ix_campaign_targets_due")
        batch_op.create_index(
            "ix_campaign_targets_due", ["campaign_id", "status", "next_attempt_at"], unique=False
        )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index("ix_complaints_state", ["state"], unique=False)
        batch_op.drop_index("ix_complaints_state_ages")
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.create_index("ix_surveys_created_at", ["created_at"], unique=False)
        batch_op.drop_index("ix_surveys_created_scores")
