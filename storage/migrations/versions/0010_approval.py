"""approval: a compensation's amount, a resolution waiting for a supervisor's approval,
and when a complaint was escalated (the supervisors' escalations queue)

Revision ID: 0010
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("compensation_amount", sa.Numeric(precision=12, scale=2), nullable=True)
        )
        batch_op.add_column(
            sa.Column("approval_requested_at", storage.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "approval_requested_by_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("escalated_at", storage.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("approval_requested_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("approval_resolution", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("approval_compensation", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("approval_amount", sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_complaints_approval_requested_at"), ["approval_requested_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_complaints_escalated_at"), ["escalated_at"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_complaints_approval_requested_by_id_users"),
            "users",
            ["approval_requested_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # Open complaints that breached a deadline before this revision join the queue from the first breach.
    op.execute(
        "UPDATE complaints SET escalated_at = (SELECT min(t.due_at) FROM complaint_timers t"
        " WHERE t.complaint_id = complaints.id AND t.escalated)"
        " WHERE state IN ('received', 'acknowledged', 'investigating', 'reopened')"
    )


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_complaints_approval_requested_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_complaints_escalated_at"))
        batch_op.drop_index(batch_op.f("ix_complaints_approval_requested_at"))
        for column in (
            "approval_amount",
            "approval_compensation",
            "approval_resolution",
            "approval_requested_by",
            "approval_requested_by_id",
            "approval_requested_at",
            "escalated_at",
            "compensation_amount",
        ):
            batch_op.drop_column(column)
