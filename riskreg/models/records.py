"""Append-only records: the audit trail, export runs and import runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from riskreg.models.base import Base, utcnow


class AuditEvent(Base):
    """Who did what, when, to which entity, with before/after values. No UPDATE or DELETE (trigger)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity", "entity_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    actor_email: Mapped[str] = mapped_column(String(254), default="")
    actor_role: Mapped[str] = mapped_column(String(24), default="")
    actor_unit: Mapped[str] = mapped_column(String(20), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(60), default="")
    summary: Mapped[str] = mapped_column(String(300), default="")
    changes_json: Mapped[str] = mapped_column(Text, default="{}")
    request_id: Mapped[str] = mapped_column(String(40), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")


class ExportRun(Base):
    __tablename__ = "export_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_cycle_id: Mapped[int | None] = mapped_column(ForeignKey("review_cycles.id", ondelete="RESTRICT"))
    statement_version: Mapped[str] = mapped_column(String(20), default="")
    audience: Mapped[str] = mapped_column(String(20))
    doc_symbol: Mapped[str] = mapped_column(String(100), default="")
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    snapshot_hash: Mapped[str] = mapped_column(String(64), default="")
    risk_count: Mapped[int] = mapped_column(default=0)
    action_count: Mapped[int] = mapped_column(default=0)
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
    generated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class ImportRun(Base):
    __tablename__ = "import_runs"
    # A unique index rather than a constraint, so the migration adds it to SQLite without rebuilding the table.
    __table_args__ = (Index("uq_import_runs_idempotency_key", "idempotency_key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="RESTRICT"))
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    created_count: Mapped[int] = mapped_column(default=0)
    updated_count: Mapped[int] = mapped_column(default=0)
    unchanged_count: Mapped[int] = mapped_column(default=0)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    summary: Mapped[str] = mapped_column(Text, default="")
    # The job (or other caller) that applied it: a retried job finds its run here instead of applying twice.
    idempotency_key: Mapped[str | None] = mapped_column(String(120))
