"""Questionnaires: a survey of several questions (1–5 and 0–10 scales, a single choice, free
text), each answer kept as it is given, so that a customer who stops can carry on later."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, JSONType, UTCDateTime, utcnow
from storage.models.customers import BigId


class Questionnaire(Base):
    __tablename__ = "questionnaires"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # A shipped template's name (`yearly`): loading it again finds it instead of copying it.
    key: Mapped[str | None] = mapped_column(String(64), unique=True)
    title: Mapped[dict[str, str]] = mapped_column(JSONType)  # language -> title
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))


class QuestionnaireQuestion(Base):
    __tablename__ = "questionnaire_questions"
    __table_args__ = (UniqueConstraint("questionnaire_id", "position"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("questionnaires.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 … in the order asked
    kind: Mapped[str] = mapped_column(String(8))  # scale5 | scale10 | choice | text
    text: Mapped[dict[str, str]] = mapped_column(JSONType)  # language -> question
    # For a choice: the options in order, each language -> label.
    choices: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)


class SurveyAnswer(Base):
    """One question's answer in one survey: a value (the score, or the choice's number from 1),
    a text, or skipped. The first answer stands: a repeated one changes nothing."""

    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("survey_id", "question_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(BigId, ForeignKey("surveys.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("questionnaire_questions.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(16))  # telegram | ivr | agent | api
    agent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
