"""Policy in the database: the methodology (scales, bands) and versioned appetite statements."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskreg.appetite import AppetiteLevel
from riskreg.models.base import Base, enum_column, utcnow
from riskreg.models.org import RiskCategory


class Methodology(Base):
    """A version of the assessment scales, stored as the TOML it was loaded from."""

    __tablename__ = "methodologies"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    source_toml: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    bands: Mapped[list[RatingBand]] = relationship(
        back_populates="methodology", order_by="RatingBand.min_score", cascade="all, delete-orphan"
    )


class RatingBand(Base):
    __tablename__ = "rating_bands"
    __table_args__ = (UniqueConstraint("methodology_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    methodology_id: Mapped[int] = mapped_column(ForeignKey("methodologies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    min_score: Mapped[int]
    max_score: Mapped[int]
    fill_hex: Mapped[str] = mapped_column(String(7))
    font_hex: Mapped[str] = mapped_column(String(7))
    review_days: Mapped[int]
    critical: Mapped[bool] = mapped_column(default=False)

    methodology: Mapped[Methodology] = relationship(back_populates="bands")


class StatementStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ENDORSED = "endorsed"
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


class AppetiteStatement(Base):
    """One version of the Risk Appetite Statement. Endorsed and superseded rows are read-only (trigger)."""

    __tablename__ = "appetite_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[StatementStatus] = mapped_column(enum_column(StatementStatus), index=True)
    endorsing_body: Mapped[str] = mapped_column(String(200), default="")
    session: Mapped[str] = mapped_column(String(100), default="")
    document_symbol: Mapped[str] = mapped_column(String(100), default="")
    endorsed_on: Mapped[date | None]
    effective_from: Mapped[date | None]
    effective_to: Mapped[date | None]
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("appetite_statements.id", ondelete="RESTRICT"))
    review_due_on: Mapped[date | None]
    preamble: Mapped[str] = mapped_column(Text, default="")
    overall_statement: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    submitted_at: Mapped[datetime | None]
    lock_version: Mapped[int] = mapped_column(default=1)

    categories: Mapped[list[CategoryAppetite]] = relationship(
        back_populates="statement", cascade="all, delete-orphan", order_by="CategoryAppetite.id"
    )
    supersedes: Mapped[AppetiteStatement | None] = relationship(remote_side=[id])

    __mapper_args__ = {"version_id_col": lock_version}


class CategoryAppetite(Base):
    __tablename__ = "category_appetites"
    __table_args__ = (UniqueConstraint("statement_id", "category_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("appetite_statements.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("risk_categories.id", ondelete="RESTRICT"))
    level: Mapped[AppetiteLevel] = mapped_column(enum_column(AppetiteLevel))
    appetite_max: Mapped[int]
    tolerance_max: Mapped[int]
    max_impact: Mapped[int | None]
    zero_tolerance: Mapped[bool] = mapped_column(default=False)
    narrative: Mapped[str] = mapped_column(Text, default="")

    statement: Mapped[AppetiteStatement] = relationship(back_populates="categories")
    category: Mapped[RiskCategory] = relationship()
