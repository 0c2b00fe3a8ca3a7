"""agent endpoints: the phone a PBX reports when an agent answers (Zammad's answeringNumber)
and the Twilio Client identity a routed call is dialled to

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("twilio_client", sa.String(length=128), nullable=True))
        batch_op.create_index("ix_users_phone", ["phone"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_phone")
        batch_op.drop_column("twilio_client")
        batch_op.drop_column("phone")
