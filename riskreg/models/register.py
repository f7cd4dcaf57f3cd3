"""The register: risks, their immutable assessments, controls and treatment actions."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskreg.appetite import Zone
from riskreg.models.base import Base, enum_column, utcnow
from riskreg.models.org import OrgUnit, RiskCategory, User

TEXT_MAX = 4000  # long text fields; well inside Excel's 32,767 characters per cell
TITLE_MAX = 120


class Nature(enum.StrEnum):
    THREAT = "threat"
    OPPORTUNITY = "opportunity"


class RiskLevel(enum.StrEnum):
    DEPARTMENTAL = "departmental"
    SECTOR = "sector"
    CORPORATE = "corporate"


class RiskStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACTIVE = "active"
    ESCALATED = "escalated"
    CLOSED = "closed"
    REALISED = "realised"
    MERGED = "merged"

    @property
    def is_open(self) -> bool:
        return self not in (RiskStatus.CLOSED, RiskStatus.REALISED, RiskStatus.MERGED)


class Treatment(enum.StrEnum):
    TREAT = "treat"
    TOLERATE = "tolerate"
    TRANSFER = "transfer"
    TERMINATE = "terminate"
    EXPLOIT = "exploit"  # opportunities only


class ControlEffectiveness(enum.StrEnum):
    EFFECTIVE = "effective"
    PARTIALLY_EFFECTIVE = "partially_effective"
    INEFFECTIVE = "ineffective"
    NOT_ASSESSED = "not_assessed"


class TrendReason(enum.StrEnum):
    CONTEXT_CHANGE = "context_change"
    CONTROL_CHANGE = "control_change"
    ACTIONS_COMPLETED = "actions_completed"
    AUDIT_FINDING = "audit_finding"
    INCIDENT_OCCURRED = "incident_occurred"
    REASSESSED_METHOD = "reassessed_method"
    OTHER = "other"


class ControlType(enum.StrEnum):
    PREVENTIVE = "preventive"
    DETECTIVE = "detective"
    CORRECTIVE = "corrective"
    DIRECTIVE = "directive"


class ActionStatus(enum.StrEnum):
    NOT_STARTED = "not_started"
    ON_TRACK = "on_track"
    DELAYED = "delayed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        return self not in (ActionStatus.COMPLETED, ActionStatus.CANCELLED)


# The register list's partial indexes cover live rows only (the list never shows soft-deleted ones).
_LIVE = text("deleted_at IS NULL")


class Risk(Base):
    """A register line. `version` guards against lost updates; current scores are copied from the latest assessment
    so that lists filter and sort on indexed columns.
    """

    __tablename__ = "risks"
    __table_args__ = (
        Index("ix_risks_scope_residual", "deleted_at", "org_unit_id", "residual_score", "id"),
        Index("ix_risks_residual", "residual_score", "id"),
        Index("ix_risks_heat", "residual_likelihood", "residual_impact", "status"),
        Index("ix_risks_unit_year", "org_unit_id", "ref_year"),
        # The register list (migration 20261129_0002): partial indexes over live rows, so that PostgreSQL too can
        # walk them in sort order (it does not treat "deleted_at IS NULL" as fixing a leading column). Sort key and
        # id first; the main ones then carry the list's equality filters, so counts and scans read no wide row;
        # deleted_at last, because SQLite < 3.42 covers a query from a partial index only if it holds that too.
        Index(
            "ix_risks_live_residual",
            "residual_score",
            "id",
            "status",
            "residual_band",
            "zone",
            "category_id",
            "org_unit_id",
            "next_review_due",
            "deleted_at",
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        Index(
            "ix_risks_live_zone",
            "zone",
            "residual_score",
            "id",
            "status",
            "residual_band",
            "category_id",
            "org_unit_id",
            "next_review_due",
            "deleted_at",
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        Index(
            "ix_risks_live_unit",
            "org_unit_id",
            "residual_score",
            "id",
            "status",
            "residual_band",
            "zone",
            "category_id",
            "next_review_due",
            "deleted_at",
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        Index(
            "ix_risks_live_category",
            "category_id",
            "residual_score",
            "id",
            "status",
            "residual_band",
            "zone",
            "org_unit_id",
            "next_review_due",
            "deleted_at",
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        Index(
            "ix_risks_live_unit_zone",
            "org_unit_id",
            "zone",
            "residual_score",
            "id",
            "deleted_at",
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        Index("ix_risks_live_title", "title", "id", "deleted_at", sqlite_where=_LIVE, postgresql_where=_LIVE),
        Index("ix_risks_live_ref", "ref", "id", "deleted_at", sqlite_where=_LIVE, postgresql_where=_LIVE),
        Index(
            "ix_risks_live_assessed", "last_assessed_on", "id", "deleted_at", sqlite_where=_LIVE, postgresql_where=_LIVE
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True)
    ref_year: Mapped[int]
    ref_seq: Mapped[int]
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    cause: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(Text)
    consequence: Mapped[str] = mapped_column(Text)
    nature: Mapped[Nature] = mapped_column(enum_column(Nature), default=Nature.THREAT)
    level: Mapped[RiskLevel] = mapped_column(enum_column(RiskLevel), default=RiskLevel.DEPARTMENTAL)
    category_id: Mapped[int] = mapped_column(ForeignKey("risk_categories.id", ondelete="RESTRICT"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="RESTRICT"))
    owner_title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    linked_objective: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[RiskStatus] = mapped_column(enum_column(RiskStatus), default=RiskStatus.ACTIVE, index=True)
    closed_reason: Mapped[str] = mapped_column(Text, default="")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("risks.id", ondelete="RESTRICT"))
    treatment: Mapped[Treatment] = mapped_column(enum_column(Treatment), default=Treatment.TREAT)
    target_likelihood: Mapped[int | None]
    target_impact: Mapped[int | None]
    target_date: Mapped[date | None]
    is_confidential: Mapped[bool] = mapped_column(default=False)
    council_visible: Mapped[bool] = mapped_column(default=False)
    identified_on: Mapped[date] = mapped_column(default=date.today)
    next_review_due: Mapped[date | None] = mapped_column(index=True)

    # Denormalised from the current assessment (written by the same operation, same transaction).
    current_assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessments.id", ondelete="RESTRICT", use_alter=True)
    )
    inherent_score: Mapped[int | None]
    residual_likelihood: Mapped[int | None]
    residual_impact: Mapped[int | None]
    residual_score: Mapped[int | None]
    residual_band: Mapped[str | None] = mapped_column(String(40), index=True)
    zone: Mapped[Zone] = mapped_column(enum_column(Zone), default=Zone.NOT_EVALUATED, index=True)
    last_assessed_on: Mapped[date | None] = mapped_column(index=True)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    deleted_at: Mapped[datetime | None]
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    delete_reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1)

    category: Mapped[RiskCategory] = relationship()
    org_unit: Mapped[OrgUnit] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    current_assessment: Mapped[Assessment | None] = relationship(foreign_keys=[current_assessment_id], post_update=True)
    assessments: Mapped[list[Assessment]] = relationship(
        back_populates="risk", foreign_keys="Assessment.risk_id", order_by="Assessment.id.desc()"
    )
    controls: Mapped[list[Control]] = relationship(back_populates="risk", order_by="Control.id")
    actions: Mapped[list[Action]] = relationship(back_populates="risk", order_by="Action.id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Assessment(Base):
    """An immutable snapshot of a risk's scores and their judgement (no UPDATE or DELETE: trigger)."""

    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint("inherent_likelihood BETWEEN 1 AND 7", name="inherent_likelihood_range"),
        CheckConstraint("inherent_impact BETWEEN 1 AND 7", name="inherent_impact_range"),
        CheckConstraint("residual_likelihood BETWEEN 1 AND 7", name="residual_likelihood_range"),
        CheckConstraint("residual_impact BETWEEN 1 AND 7", name="residual_impact_range"),
        Index("ix_assessments_risk_assessed", "risk_id", "assessed_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id", ondelete="RESTRICT"))
    review_cycle_id: Mapped[int | None] = mapped_column(ForeignKey("review_cycles.id", ondelete="RESTRICT"), index=True)
    assessed_on: Mapped[date]
    assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    methodology_version: Mapped[str] = mapped_column(String(40))
    inherent_likelihood: Mapped[int]
    inherent_impact: Mapped[int]
    inherent_score: Mapped[int]
    inherent_band: Mapped[str] = mapped_column(String(40))
    residual_likelihood: Mapped[int]
    residual_impact: Mapped[int]
    residual_score: Mapped[int]
    residual_band: Mapped[str] = mapped_column(String(40))
    target_likelihood: Mapped[int | None]
    target_impact: Mapped[int | None]
    target_score: Mapped[int | None]
    target_band: Mapped[str] = mapped_column(String(40), default="")
    control_effectiveness: Mapped[ControlEffectiveness] = mapped_column(
        enum_column(ControlEffectiveness), default=ControlEffectiveness.NOT_ASSESSED
    )
    velocity: Mapped[int | None]
    # The judgement, with everything it used, so history never changes when a new statement is endorsed.
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("appetite_statements.id", ondelete="RESTRICT"))
    statement_version: Mapped[str] = mapped_column(String(20), default="")
    appetite_level: Mapped[str] = mapped_column(String(20), default="")
    appetite_max: Mapped[int | None]
    tolerance_max: Mapped[int | None]
    zero_tolerance: Mapped[bool] = mapped_column(default=False)
    zone: Mapped[Zone] = mapped_column(enum_column(Zone))
    trend_reason: Mapped[TrendReason | None] = mapped_column(enum_column(TrendReason))
    rationale: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    risk: Mapped[Risk] = relationship(back_populates="assessments", foreign_keys=[risk_id])
    assessed_by: Mapped[User | None] = relationship()


class Control(Base):
    __tablename__ = "controls"

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id", ondelete="RESTRICT"), index=True)
    description: Mapped[str] = mapped_column(Text)
    type: Mapped[ControlType] = mapped_column(enum_column(ControlType), default=ControlType.PREVENTIVE)
    owner_title: Mapped[str] = mapped_column(String(200), default="")
    effectiveness: Mapped[ControlEffectiveness] = mapped_column(
        enum_column(ControlEffectiveness), default=ControlEffectiveness.NOT_ASSESSED
    )
    last_tested_on: Mapped[date | None]
    evidence_ref: Mapped[str] = mapped_column(String(200), default="")
    retired_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    risk: Mapped[Risk] = relationship(back_populates="controls")

    __mapper_args__ = {"version_id_col": version}


class Action(Base):
    __tablename__ = "actions"
    __table_args__ = (
        CheckConstraint("percent_complete BETWEEN 0 AND 100", name="percent_range"),
        Index("ix_actions_open_due", "status", "due_date"),
        Index("ix_actions_risk_open", "risk_id", "status", "due_date", "revised_due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(50), unique=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id", ondelete="RESTRICT"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner_title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="RESTRICT"), index=True)
    due_date: Mapped[date]
    revised_due_date: Mapped[date | None]
    completed_on: Mapped[date | None]
    percent_complete: Mapped[int] = mapped_column(default=0)
    status: Mapped[ActionStatus] = mapped_column(enum_column(ActionStatus), default=ActionStatus.NOT_STARTED)
    expected_effect: Mapped[str] = mapped_column(Text, default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    risk: Mapped[Risk] = relationship(back_populates="actions")
    org_unit: Mapped[OrgUnit] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def effective_due(self) -> date:
        return self.revised_due_date or self.due_date

    def days_overdue(self, today: date) -> int:
        if not self.status.is_open or self.effective_due >= today:
            return 0
        return (today - self.effective_due).days
