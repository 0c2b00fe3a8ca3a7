"""tier review: customers' monthly spend and payment record, review runs and their proposals
(issue 18)

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "customer_monthly_spend",
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("paid_late", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_monthly_spend_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "month", name=op.f("pk_customer_monthly_spend")),
    )
    op.create_table(
        "tier_reviews",
        sa.Column("id", BigId, nullable=False),
        sa.Column("follows", BigId, nullable=False),
        sa.Column("started_by", sa.String(length=128), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("graded", sa.Integer(), nullable=False),
        sa.Column("proposals", sa.Integer(), nullable=False),
        sa.Column("vip_quota", sa.Integer(), nullable=False),
        sa.Column("preferred_quota", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_reviews")),
        sa.UniqueConstraint("follows", name=op.f("uq_tier_reviews_follows")),
    )
    op.create_table(
        "tier_proposals",
        sa.Column("id", BigId, nullable=False),
        sa.Column("review_id", BigId, nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("from_tier", sa.String(length=16), nullable=False),
        sa.Column("to_tier", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("spend", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("abc", sa.String(length=1), nullable=False),
        sa.Column("late_months", sa.Integer(), nullable=False),
        sa.Column("complaints", sa.Integer(), nullable=False),
        sa.Column("holdings", sa.Integer(), nullable=False),
        sa.Column("customer_since", sa.Date(), nullable=True),
        sa.Column("score", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("effective_at", UTCDateTime(), nullable=True),
        sa.Column("notice_at", UTCDateTime(), nullable=True),
        sa.Column("applied_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_tier_proposals_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["tier_reviews.id"],
            name=op.f("fk_tier_proposals_review_id_tier_reviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_proposals")),
    )
    op.create_index("ix_tier_proposals_customer_id", "tier_proposals", ["customer_id"])
    op.create_index("ix_tier_proposals_due", "tier_proposals", ["state", "effective_at"])
    op.create_index("ix_tier_proposals_state", "tier_proposals", ["state", "id"])


def downgrade() -> None:
    op.drop_index("ix_tier_proposals_state", table_name="tier_proposals")
    op.drop_index("ix_tier_proposals_due", table_name="tier_proposals")
    op.drop_index("ix_tier_proposals_customer_id", table_name="tier_proposals")
    op.drop_table("tier_proposals")
    op.drop_table("tier_reviews")
    op.drop_table("customer_monthly_spend")
