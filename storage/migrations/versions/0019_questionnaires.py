"""questionnaires: surveys of several questions, their answers one row per question, and
the questionnaire a satisfaction campaign sends (issue 18)

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models.base import JSONType, UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "questionnaires",
        sa.Column("id", BigId, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=True),
        sa.Column("title", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by_id", BigId, nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_questionnaires_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaires")),
        sa.UniqueConstraint("key", name=op.f("uq_questionnaires_key")),
    )
    op.create_table(
        "questionnaire_questions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("questionnaire_id", BigId, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("text", JSONType, nullable=False),
        sa.Column("choices", JSONType, nullable=False),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["questionnaires.id"],
            name=op.f("fk_questionnaire_questions_questionnaire_id_questionnaires"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire_questions")),
        sa.UniqueConstraint(
            "questionnaire_id", "position", name=op.f("uq_questionnaire_questions_questionnaire_id_position")
        ),
    )
    op.create_index(
        op.f("ix_questionnaire_questions_questionnaire_id"), "questionnaire_questions", ["questionnaire_id"]
    )
    op.create_table(
        "survey_answers",
        sa.Column("id", BigId, nullable=False),
        sa.Column("survey_id", BigId, nullable=False),
        sa.Column("question_id", BigId, nullable=False),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("agent_id", BigId, nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_survey_answers_agent_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questionnaire_questions.id"],
            name=op.f("fk_survey_answers_question_id_questionnaire_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_survey_answers_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sa.UniqueConstraint("survey_id", "question_id", name=op.f("uq_survey_answers_survey_id_question_id")),
    )
    op.create_index(op.f("ix_survey_answers_answered_at"), "survey_answers", ["answered_at"])
    op.create_index(op.f("ix_survey_answers_question_id"), "survey_answers", ["question_id"])
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("questionnaire_id", BigId, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_campaigns_questionnaire_id_questionnaires"),
            "questionnaires",
            ["questionnaire_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("questionnaire_id", BigId, nullable=True))
        batch_op.create_index(batch_op.f("ix_surveys_questionnaire_id"), ["questionnaire_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_surveys_questionnaire_id_questionnaires"),
            "questionnaires",
            ["questionnaire_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_surveys_questionnaire_id_questionnaires"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_surveys_questionnaire_id"))
        batch_op.drop_column("questionnaire_id")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_campaigns_questionnaire_id_questionnaires"), type_="foreignkey"
        )
        batch_op.drop_column("questionnaire_id")
    op.drop_index(op.f("ix_survey_answers_question_id"), table_name="survey_answers")
    op.drop_index(op.f("ix_survey_answers_answered_at"), table_name="survey_answers")
    op.drop_table("survey_answers")
    op.drop_index(op.f("ix_questionnaire_questions_questionnaire_id"), table_name="questionnaire_questions")
    op.drop_table("questionnaire_questions")
    op.drop_table("questionnaires")
