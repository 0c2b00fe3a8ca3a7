"""workbench: a complaint's assignee, the indexes the complaints list walks (by resolve
deadline, overall and per assignee) and a trigram index to find a complaint by part of its
description

Revision ID: 0009
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
# After the customer search (0011), which merged first.
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_complaints_description_trgm",
        "complaints",
        ["description"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"description": "gin_trgm_ops"},
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("assignee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_complaints_assignee_id_users"),
            "users",
            ["assignee_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            "ix_complaints_resolve_due",
            ["resolve_due_at", "id"],
            unique=False,
            postgresql_include=["state", "severity", "category", "channel", "assignee_id", "customer_id"],
        )
        batch_op.create_index("ix_complaints_assignee_due", ["assignee_id", "resolve_due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index("ix_complaints_assignee_due")
        batch_op.drop_index("ix_complaints_resolve_due")
        batch_op.drop_constraint(batch_op.f("fk_complaints_assignee_id_users"), type_="foreignkey")
        batch_op.drop_column("assignee_id")
    # pg_trgm stays: dropping an extension another object may use is not this migration's call.
    op.drop_index("ix_complaints_description_trgm", table_name="complaints")
