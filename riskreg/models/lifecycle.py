"""A risk's life after registration: lifecycle events (closed, realised, merged, reopened), the task force's
requests to a risk owner (rating challenged, returned), and the task force's validation of an assessment.

All three are append-mostly records: a lifecycle event and a validation are never changed; an owner request is
only ever cleared (once), when the owner reassesses or answers.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskreg.models.base import Base, enum_column, utcnow
from riskreg.models.org import User
from riskreg.models.register import Risk


class LifecycleKind(enum.StrEnum):
    CLOSED = "closed"
    REALISED = "realised"
    MERGED = "merged"
    REOPENED = "reopened"

    @property
    def label(self) -> str:
        return {"closed": "Closed", "realised": "Realised", "merged": "Merged", "reopened": "Reopened"}[self.value]


class RiskLifecycleEvent(Base):
    """One change of a risk's life, with what the person recorded about it (the risk keeps only the latest)."""

    __tablename__ = "risk_lifecycle_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[LifecycleKind] = mapped_column(enum_column(LifecycleKind, 20))
    occurred_on: Mapped[date]
    reason: Mapped[str] = mapped_column(Text, default="")
    # A realised risk: what happened, its impact and the follow-up it needs.
    what_happened: Mapped[str] = mapped_column(Text, default="")
    impact: Mapped[str] = mapped_column(Text, default="")
    follow_up: Mapped[str] = mapped_column(Text, default="")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("risks.id", ondelete="RESTRICT"), index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("taskforce_decisions.id", ondelete="RESTRICT"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    risk: Mapped[Risk] = relationship(foreign_keys=[risk_id])
    merged_into: Mapped[Risk | None] = relationship(foreign_keys=[merged_into_id])
    recorded_by: Mapped[User | None] = relationship()


class OwnerRequest(Base):
    """The task force asks the risk owner to act (rating challenged, returned to owner); open until cleared."""

    __tablename__ = "owner_requests"
    __table_args__ = (Index("ix_owner_requests_open", "cleared_at", "risk_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id", ondelete="RESTRICT"), index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("taskforce_decisions.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(30))  # the Decision value that raised it
    comment: Mapped[str] = mapped_column(Text, default="")
    raised_on: Mapped[date]
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    cleared_at: Mapped[datetime | None]
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    cleared_how: Mapped[str] = mapped_column(String(20), default="")  # reassessed, answered, closed
    answer: Mapped[str] = mapped_column(Text, default="")

    risk: Mapped[Risk] = relationship()


class AssessmentValidation(Base):
    """The task force validated an assessment for a cycle (assessments themselves are immutable rows)."""

    __tablename__ = "assessment_validations"
    __table_args__ = (UniqueConstraint("assessment_id", "review_cycle_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="RESTRICT"))
    review_cycle_id: Mapped[int] = mapped_column(ForeignKey("review_cycles.id", ondelete="RESTRICT"))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("taskforce_decisions.id", ondelete="RESTRICT"))
    validated_on: Mapped[date]
    validated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
