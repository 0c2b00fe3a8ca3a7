"""care contacts: a target's occasion and the end of its day, and the greetings given (issue 18)

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("campaign_targets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("occasion", sa.String(length=48), nullable=True))
        batch_op.add_column(sa.Column("not_after", UTCDateTime(), nullable=True))
    op.create_table(
        "care_greetings",
        sa.Column("id", BigId, nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("occasion", sa.String(length=48), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("campaign_id", BigId, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_care_greetings_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_care_greetings_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_greetings")),
        sa.UniqueConstraint(
            "customer_id", "occasion", "year", name=op.f("uq_care_greetings_customer_id_occasion_year")
        ),
    )
    op.create_index(op.f("ix_care_greetings_campaign_id"), "care_greetings", ["campaign_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_care_greetings_campaign_id"), table_name="care_greetings")
    op.drop_table("care_greetings")
    with op.batch_alter_table("campaign_targets", schema=None) as batch_op:
        batch_op.drop_column("not_after")
        batch_op.drop_column("occasion")
