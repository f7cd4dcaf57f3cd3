"""Review cycles, their frozen snapshots, task force decisions, escalations and acceptances."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskreg.models.base import Base, enum_column, utcnow
from riskreg.models.register import Risk


class CycleStatus(enum.StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    TF_REVIEW = "tf_review"
    CLOSED = "closed"


class ReviewCycle(Base):
    __tablename__ = "review_cycles"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    period_start: Mapped[date]
    period_end: Mapped[date]
    submission_deadline: Mapped[date | None]
    taskforce_meeting_on: Mapped[date | None]
    target_session: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[CycleStatus] = mapped_column(enum_column(CycleStatus), default=CycleStatus.OPEN, index=True)
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    narrative: Mapped[str] = mapped_column(Text, default="")  # the coordinator's summary for the Council pack
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column(default=1)

    snapshot: Mapped[CycleSnapshot | None] = relationship(back_populates="cycle", uselist=False)

    __mapper_args__ = {"version_id_col": version}


class CycleSnapshot(Base):
    """The register frozen when a cycle closed. Rows are `riskreg.snapshot.RiskRow` as JSON; no UPDATE/DELETE."""

    __tablename__ = "cycle_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_cycle_id: Mapped[int] = mapped_column(ForeignKey("review_cycles.id", ondelete="RESTRICT"), unique=True)
    as_at: Mapped[date]
    statement_version: Mapped[str] = mapped_column(String(20))
    scales_version: Mapped[str] = mapped_column(String(40))
    risk_count: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    cycle: Mapped[ReviewCycle] = relationship(back_populates="snapshot")
    entries: Mapped[list[SnapshotEntry]] = relationship(back_populates="snapshot", order_by="SnapshotEntry.id")


class SnapshotEntry(Base):
    """One risk in a frozen snapshot: key columns to query on, and the whole row as JSON."""

    __tablename__ = "snapshot_entries"
    __table_args__ = (
        UniqueConstraint("snapshot_id", "risk_id"),
        Index("ix_snapshot_entries_cell", "snapshot_id", "residual_likelihood", "residual_impact"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("cycle_snapshots.id", ondelete="RESTRICT"))
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id", ondelete="RESTRICT"), index=True)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id", ondelete="RESTRICT"))
    ref: Mapped[str] = mapped_column(String(40))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="RESTRICT"))
    category_id: Mapped[int] = mapped_column(ForeignKey("risk_categories.id", ondelete="RESTRICT"))
    residual_likelihood: Mapped[int]
    residual_impact: Mapped[int]
    residual_score: Mapped[int]
    zone: Mapped[str] = mapped_column(String(24))
    row_json: Mapped[str] = mapped_column(Text)

    snapshot: Mapped[CycleSnapshot] = relationship(back_populates="entries")


class CycleAddendum(Base):
    """A correction to a closed cycle's record: dated, signed, appended after the minutes. No UPDATE or DELETE
    (trigger); the database also refuses one on a cycle that is not closed (an open cycle is simply edited).
    """

    __tablename__ = "cycle_addenda"
    __table_args__ = (UniqueConstraint("review_cycle_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_cycle_id: Mapped[int] = mapped_column(ForeignKey("review_cycles.id", ondelete="RESTRICT"), index=True)
    number: Mapped[int]  # 1, 2, ... within the cycle, as printed ("Addendum 2")
    text: Mapped[str] = mapped_column(Text)
    added_on: Mapped[date]
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # The signature as printed: kept with the row, so a later change of the user's name or title leaves it alone.
    signed_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Decision(enum.StrEnum):
    NOTED = "noted"
    VALIDATED = "validated"
    RATING_CHALLENGED = "rating_challenged"
    RETURN_TO_OWNER = "return_to_owner"
    ESCALATE = "escalate"
    DE_ESCALATE = "de_escalate"
    ACCEPT_ABOVE_APPETITE = "accept_above_appetite"
    CLOSE = "close"
    MERGE = "merge"
    PROMOTE_TO_CORPORATE = "promote_to_corporate"

    @property
    def label(self) -> str:
        return _DECISION_LABELS.get(self.value, self.value.replace("_", " ").capitalize())


_DECISION_LABELS = {"de_escalate": "De-escalate", "accept_above_appetite": "Accept above appetite"}


class TaskForceDecision(Base):
    __tablename__ = "taskforce_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_cycle_id: Mapped[int] = mapped_column(ForeignKey("review_cycles.id", ondelete="RESTRICT"), index=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id", ondelete="RESTRICT"), index=True)
    decision: Mapped[Decision] = mapped_column(enum_column(Decision, 30))
    comment: Mapped[str] = mapped_column(Text, default="")
    minute_ref: Mapped[str] = mapped_column(String(60), default="")
    # What the decision did, written with it in the same transaction, so the minutes never change afterwards.
    effect: Mapped[str] = mapped_column(Text, default="", server_default="")
    decided_on: Mapped[date]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    risk: Mapped[Risk] = relationship()
    cycle: Mapped[ReviewCycle] = relationship()


class EscalationLevel(enum.StrEnum):
    """The ladder, lowest first: an escalation moves one or more rungs up."""

    OWNER = "owner"
    DEPARTMENT = "department"
    TASK_FORCE = "task_force"
    EXECUTIVE = "executive"
    GOVERNING_BODY = "governing_body"

    @property
    def label(self) -> str:
        return {"task_force": "Task force", "governing_body": "Council"}.get(self.value, self.value.capitalize())


class EscalationTrigger(enum.StrEnum):
    OUTSIDE_TOLERANCE = "outside_tolerance"
    CRITICAL_BAND = "critical_band"
    PERSISTENT_ABOVE_APPETITE = "persistent_above_appetite"
    ZERO_TOLERANCE_BREACH = "zero_tolerance_breach"
    CROSS_CUTTING = "cross_cutting"
    AUTHORITY_EXCEEDED = "authority_exceeded"
    OVERDUE_ACTIONS = "overdue_actions"
    KRI_RED = "kri_red"
    HIGH_VELOCITY = "high_velocity"
    MANUAL = "manual"


class EscalationStatus(enum.StrEnum):
    PROPOSED = "proposed"  # raised automatically, a human has not confirmed it yet
    PENDING = "pending"  # waiting for the receiving level to accept
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    RESOLVED = "resolved"


class Escalation(Base):
    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id", ondelete="RESTRICT"), index=True)
    from_level: Mapped[EscalationLevel] = mapped_column(enum_column(EscalationLevel, name="from_level"))
    to_level: Mapped[EscalationLevel] = mapped_column(enum_column(EscalationLevel, name="to_level"))
    trigger: Mapped[EscalationTrigger] = mapped_column(enum_column(EscalationTrigger, 30))
    status: Mapped[EscalationStatus] = mapped_column(enum_column(EscalationStatus), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    raised_on: Mapped[date]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    decided_on: Mapped[date | None]
    resolution: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1)

    risk: Mapped[Risk] = relationship()

    __mapper_args__ = {"version_id_col": version}


class AcceptanceStatus(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class RiskAcceptance(Base):
    """A time-limited decision to tolerate a risk above appetite (never outside tolerance)."""

    __tablename__ = "risk_acceptances"

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id", ondelete="RESTRICT"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="RESTRICT"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    decision_level: Mapped[EscalationLevel] = mapped_column(enum_column(EscalationLevel))
    justification: Mapped[str] = mapped_column(Text)
    conditions: Mapped[str] = mapped_column(Text, default="")
    decided_on: Mapped[date]
    valid_until: Mapped[date]
    status: Mapped[AcceptanceStatus] = mapped_column(enum_column(AcceptanceStatus), default=AcceptanceStatus.ACTIVE)
    revoked_reason: Mapped[str] = mapped_column(Text, default="")

    risk: Mapped[Risk] = relationship()
