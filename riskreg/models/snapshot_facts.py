"""What the review counts and places per risk of a frozen snapshot, as columns (the rest is in the entry's JSON).

Written with the snapshot when a cycle closes (and by the migration for the snapshots frozen before), so the
review page of a closed cycle reads its heatmap cells, headline numbers and agenda in SQL without parsing
100,000 JSON rows. Append-only like the entries (database triggers).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from riskreg.models.base import Base


class SnapshotFact(Base):
    """One snapshot entry's review columns: the fields of its row the entry has no column for."""

    __tablename__ = "snapshot_facts"
    __table_args__ = (Index("ix_snapshot_facts_snapshot", "snapshot_id", "entry_id"),)

    entry_id: Mapped[int] = mapped_column(ForeignKey("snapshot_entries.id", ondelete="RESTRICT"), primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("cycle_snapshots.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(20))
    nature: Mapped[str] = mapped_column(String(20))
    unit_code: Mapped[str] = mapped_column(String(40))
    category_code: Mapped[str] = mapped_column(String(40))
    residual_band: Mapped[str] = mapped_column(String(40))
    inherent_likelihood: Mapped[int]
    inherent_impact: Mapped[int]
    target_likelihood: Mapped[int | None]
    target_impact: Mapped[int | None]
    assessed_on: Mapped[date | None]
    acceptance_until: Mapped[date | None]
    overdue_actions: Mapped[int]  # open actions past their (revised) due date at the snapshot's as-at date
