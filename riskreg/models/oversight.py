"""Oversight bodies, their reports and recommendations, the append-only status history, links to risks."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskreg.models.base import Base, enum_column, utcnow
from riskreg.models.org import OrgUnit


class BodyKind(enum.StrEnum):
    JIU = "jiu"
    EXTERNAL_AUDITOR = "external_auditor"
    AUDIT_COMMITTEE = "audit_committee"
    INTERNAL_AUDIT = "internal_audit"
    OTHER = "other"


class ReportScope(enum.StrEnum):
    SYSTEM_WIDE = "system_wide"
    ORGANISATION = "organisation"


class RecType(enum.StrEnum):
    FORMAL = "formal"
    INFORMAL = "informal"


class Addressee(enum.StrEnum):
    LEGISLATIVE_ORGAN = "legislative_organ"
    EXECUTIVE_HEAD = "executive_head"


class Acceptance(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    UNDER_CONSIDERATION = "under_consideration"
    NOT_ACCEPTED = "not_accepted"


class RecStatus(enum.StrEnum):
    """The implementation states the task force reports (in the order its tables use)."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    ON_TRACK = "on_track"
    IMPLEMENTED = "implemented"
    UNDER_CONSIDERATION = "under_consideration"
    NOT_ACCEPTED = "not_accepted"
    CLOSED_OVERTAKEN = "closed_overtaken"

    @property
    def is_open(self) -> bool:
        """Still calls for action by the secretariat (so it can be overdue)."""
        return self in (RecStatus.NOT_STARTED, RecStatus.IN_PROGRESS, RecStatus.ON_TRACK)


class OversightBody(Base):
    __tablename__ = "oversight_bodies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[BodyKind] = mapped_column(enum_column(BodyKind))
    sort_order: Mapped[int] = mapped_column(default=0)


class OversightReport(Base):
    __tablename__ = "oversight_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("oversight_bodies.id", ondelete="RESTRICT"), index=True)
    symbol: Mapped[str] = mapped_column(String(60), unique=True)  # e.g. JIU/REP/2016/1
    title: Mapped[str] = mapped_column(String(300), default="")
    year: Mapped[int | None]
    issued_on: Mapped[date | None]
    scope: Mapped[ReportScope] = mapped_column(enum_column(ReportScope), default=ReportScope.ORGANISATION)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    body: Mapped[OversightBody] = relationship()


class Recommendation(Base):
    """One recommendation of a report. `status` is the latest row of its history; `version` guards edits."""

    __tablename__ = "oversight_recommendations"
    __table_args__ = (
        UniqueConstraint("report_id", "number", name="uq_oversight_recommendations_report_number"),
        Index("ix_oversight_recommendations_unit_status", "org_unit_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("oversight_reports.id", ondelete="RESTRICT"), index=True)
    number: Mapped[str] = mapped_column(String(20))  # "1", "R3", "informal 12"
    text: Mapped[str] = mapped_column(Text)
    rec_type: Mapped[RecType] = mapped_column(enum_column(RecType))
    addressee: Mapped[Addressee] = mapped_column(enum_column(Addressee), default=Addressee.EXECUTIVE_HEAD)
    acceptance: Mapped[Acceptance] = mapped_column(enum_column(Acceptance), default=Acceptance.PENDING)
    status: Mapped[RecStatus] = mapped_column(enum_column(RecStatus, length=30), default=RecStatus.NOT_STARTED)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id", ondelete="RESTRICT"), index=True)
    target_date: Mapped[date | None]
    action_plan: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    comments: Mapped[str] = mapped_column(Text, default="")
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    report: Mapped[OversightReport] = relationship()
    org_unit: Mapped[OrgUnit | None] = relationship()

    __mapper_args__ = {"version_id_col": version}


class RecommendationStatusChange(Base):
    """One status change (the first row records the status a recommendation was entered with). Append-only."""

    __tablename__ = "oversight_status_changes"
    __table_args__ = (Index("ix_oversight_status_changes_rec_at", "recommendation_id", "at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(ForeignKey("oversight_recommendations.id", ondelete="RESTRICT"))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    actor_email: Mapped[str] = mapped_column(String(254), default="")
    from_status: Mapped[RecStatus | None] = mapped_column(enum_column(RecStatus, length=30, name="from_status"))
    to_status: Mapped[RecStatus] = mapped_column(enum_column(RecStatus, length=30, name="to_status"))
    reason: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")


class RecommendationRisk(Base):
    """A recommendation addresses a risk (many to many)."""

    __tablename__ = "oversight_recommendation_risks"

    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("oversight_recommendations.id", ondelete="CASCADE"), primary_key=True
    )
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id", ondelete="CASCADE"), primary_key=True, index=True)
