"""alert acknowledgement: who acknowledged an alert on the supervisor's dashboard or through
the API (cleared_at says when: it then leaves the open list); the open alerts' own index

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OPEN_ALERT = "cleared_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "acknowledged_by_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_alerts_acknowledged_by_id_users"),
            "users",
            ["acknowledged_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            "ix_alerts_open",
            ["id"],
            unique=False,
            sqlite_where=sa.text(OPEN_ALERT),
            postgresql_where=sa.text(OPEN_ALERT),
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_alerts_open", sqlite_where=sa.text(OPEN_ALERT), postgresql_where=sa.text(OPEN_ALERT)
        )
        batch_op.drop_constraint(batch_op.f("fk_alerts_acknowledged_by_id_users"), type_="foreignkey")
        batch_op.drop_column("acknowledged_by_id")
