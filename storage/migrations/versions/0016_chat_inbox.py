"""chat inbox: customers' conversations with a person and their messages (issue 16), and
each agent's limit of concurrent chats

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models.base import JSONType, UTCDateTime

revision = "0016"
# 0016 is another branch's; the chain is fixed when both are merged.
down_revision = "0015"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LIVE = "state IN ('waiting', 'open')"


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_chats", sa.Integer(), server_default="3", nullable=False))
    op.create_table(
        "inbox_conversations",
        sa.Column("id", BigId, nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("skills", JSONType, nullable=False),
        sa.Column("agent_language", sa.String(length=8), nullable=True),
        sa.Column("agent_id", BigId, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("assigned_at", UTCDateTime(), nullable=True),
        sa.Column("first_reply_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("disposition", sa.String(length=64), nullable=True),
        sa.Column("survey_id", BigId, nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["users.id"],
            name=op.f("fk_inbox_conversations_agent_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_inbox_conversations_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_inbox_conversations_survey_id_surveys"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_conversations")),
    )
    with op.batch_alter_table("inbox_conversations", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_conversations_agent_state", ["agent_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_conversations_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            "ix_inbox_conversations_live_customer",
            ["customer_id"],
            unique=True,
            postgresql_where=sa.text(LIVE),
            sqlite_where=sa.text(LIVE),
        )
        batch_op.create_index(
            "ix_inbox_conversations_state_queue", ["state", "queue", "priority", "created_at"], unique=False
        )
    op.create_table(
        "inbox_messages",
        sa.Column("id", BigId, nullable=False),
        sa.Column("conversation_id", BigId, nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("author_id", BigId, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("photo", sa.String(length=256), nullable=True),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivery", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_inbox_messages_author_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["inbox_conversations.id"],
            name=op.f("fk_inbox_messages_conversation_id_inbox_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_messages")),
        sa.UniqueConstraint(
            "conversation_id", "external_id", name=op.f("uq_inbox_messages_conversation_id_external_id")
        ),
    )
    with op.batch_alter_table("inbox_messages", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_messages_conversation", ["conversation_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("inbox_messages")
    op.drop_table("inbox_conversations")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("max_chats")
