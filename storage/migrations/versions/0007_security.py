"""security: server-side console sessions, sign-in failures, unparseable Telegram updates,
an audit trail by customer and actor (append-only on PostgreSQL), unverified complaints,
surveys keyed by the sender's own id

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_login_failures_address_at", ["address", "at"], unique=False)
        batch_op.create_index("ix_login_failures_login_at", ["login", "at"], unique=False)

    op.create_table(
        "telegram_rejected_updates",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("received_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_rejected_updates")),
    )
    with op.batch_alter_table("telegram_rejected_updates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_telegram_rejected_updates_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_sessions_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor", sa.String(length=128), server_default="", nullable=False))
        batch_op.add_column(sa.Column("via", sa.String(length=32), server_default="", nullable=False))
        batch_op.add_column(sa.Column("customer_id", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_audit_log_actor_at", ["actor", "at"], unique=False)
        batch_op.create_index("ix_audit_log_customer_at", ["customer_id", "at"], unique=False)

    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("claimed_phone", sa.String(length=32), nullable=True))

    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_ref", sa.String(length=80), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_surveys_external_ref"), ["external_ref"])

    if op.get_bind().dialect.name == "postgresql":
        # The application has no path that changes the trail; the database makes sure.
        op.execute(APPEND_ONLY)
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_refuse_change()")
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_surveys_external_ref"), type_="unique")
        batch_op.drop_column("external_ref")

    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_column("claimed_phone")
        batch_op.drop_column("verified")

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_customer_at")
        batch_op.drop_index("ix_audit_log_actor_at")
        batch_op.drop_column("customer_id")
        batch_op.drop_column("via")
        batch_op.drop_column("actor")

    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_sessions_user_id"))

    op.drop_table("user_sessions")
    with op.batch_alter_table("telegram_rejected_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telegram_rejected_updates_received_at"))

    op.drop_table("telegram_rejected_updates")
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_login_at")
        batch_op.drop_index("ix_login_failures_address_at")

    op.drop_table("login_failures")
