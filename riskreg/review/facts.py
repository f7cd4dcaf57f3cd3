"""A cycle's register as a dozen columns per risk, read in SQL: what the review page needs at 100,000 risks.

Building every `RiskRow` (texts, actions, controls, acceptances) costs seconds at that size, yet the heatmap
cells, the headline numbers and the agenda's membership need only positions, zones, scores and two flags per
risk. An open cycle reads its `Fact`s from the live tables in one query (the "accepted" and "overdue" flags
as uncorrelated sub-selects the database evaluates once); a closed cycle reads them from its snapshot
entries and their `snapshot_facts` (the fields the entries have no column for, written at closing), so
no JSON is parsed. Full rows are read only for the
risks a page lists (`open_rows`, `frozen_rows`). No writes here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, NamedTuple
from typing import cast as typing_cast

from sqlalchemy import ColumnElement, Integer, Select, String, Table, case, func, select, type_coerce
from sqlalchemy.orm import Session

from riskreg import movement
from riskreg.models import (
    AcceptanceStatus,
    Action,
    ActionStatus,
    Assessment,
    CycleSnapshot,
    OrgUnit,
    ReviewCycle,
    Risk,
    RiskAcceptance,
    RiskCategory,
    SnapshotEntry,
    SnapshotFact,
)
from riskreg.risks.rows import live_rows
from riskreg.snapshot import RiskRow, row_from_json

Position = tuple[int, int]
_CLOSED_VALUES = sorted(movement.CLOSED_STATUSES)
_DONE_ACTIONS = (ActionStatus.COMPLETED, ActionStatus.CANCELLED)


class Fact(NamedTuple):
    """One risk of a cycle's register, as the review page counts and places it (flat: made straight from a row)."""

    key: int  # the risk's id (live and frozen alike), to read its full row later
    ref: str
    unit_code: str
    category_code: str
    status: str
    nature: str
    zone: str
    residual_score: int
    residual_likelihood: int
    residual_impact: int
    inherent_likelihood: int
    inherent_impact: int
    target_likelihood: int | None
    target_impact: int | None
    accepted: int  # 1 when an active acceptance runs to the as-at date or later
    overdue: int  # 1 when an open action is past its (revised) due date at the as-at date
    residual_band: str
    assessed_on: date | str | None  # SQLite gives the ISO text (parsed only for the few that need it)
    is_open: int  # 1 unless closed, realised or merged: on the heatmap and in the counts

    @property
    def residual(self) -> Position:
        return self.residual_likelihood, self.residual_impact

    @property
    def inherent(self) -> Position:
        return self.inherent_likelihood, self.inherent_impact

    @property
    def target(self) -> Position | None:
        if self.target_likelihood is None or self.target_impact is None:
            return None
        return self.target_likelihood, self.target_impact

    @property
    def assessed_day(self) -> date | None:
        value = self.assessed_on
        return date.fromisoformat(value) if isinstance(value, str) else value

    def position(self, kind: str) -> Position | None:
        if kind == "inherent":
            return self.inherent
        if kind == "target":
            return self.target
        return self.residual


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    # 1/0 from the database, no Python-side type processing per row.
    return type_coerce(case((condition, 1), else_=0), Integer)


# --------------------------------------------------------------------------- live register (open cycle)


def live_facts(session: Session, as_at: date) -> list[Fact]:
    """Every assessed, non-deleted risk of the live register, in risk id order (as `live_rows` reads them)."""
    accepted = select(RiskAcceptance.risk_id).where(
        RiskAcceptance.status == AcceptanceStatus.ACTIVE, RiskAcceptance.valid_until >= as_at
    )
    due = func.coalesce(Action.revised_due_date, Action.due_date)
    overdue = select(Action.risk_id).where(Action.status.not_in(_DONE_ACTIONS), due < as_at)
    query = (
        select(
            Risk.id,
            Risk.ref,
            OrgUnit.code,
            RiskCategory.code,
            # Plain text, not the enum types: converting 100,000 values to enum members costs more than the query.
            type_coerce(Risk.status, String),
            type_coerce(Risk.nature, String),
            type_coerce(Assessment.zone, String),
            Assessment.residual_score,
            Assessment.residual_likelihood,
            Assessment.residual_impact,
            Assessment.inherent_likelihood,
            Assessment.inherent_impact,
            Risk.target_likelihood,
            Risk.target_impact,
            _flag(Risk.id.in_(accepted)),
            _flag(Risk.id.in_(overdue)),
            Assessment.residual_band,
            type_coerce(Assessment.assessed_on, String),
            _flag(Risk.status.not_in(_CLOSED_VALUES)),
        )
        .join(Assessment, Assessment.id == Risk.current_assessment_id)
        .join(OrgUnit, OrgUnit.id == Risk.org_unit_id)
        .join(RiskCategory, RiskCategory.id == Risk.category_id)
        .where(Risk.deleted_at.is_(None), Risk.current_assessment_id.is_not(None))
        .order_by(Risk.id)
    )
    return _plain_facts(session, query)


def open_rows(session: Session, keys: Iterable[int], as_at: date) -> dict[int, RiskRow]:
    """The full live rows of the risks `keys` (a page's worth), by risk id."""
    wanted = sorted(set(keys))
    found: dict[int, RiskRow] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for risk_id, _assessment_id, row in live_rows(session, where=Risk.id.in_(chunk), as_at=as_at):
            found[risk_id] = row
    return found


# --------------------------------------------------------------------------- frozen register (closed cycle)


def fact_columns(row: RiskRow, as_at: date) -> dict[str, Any]:
    """A frozen row's `snapshot_facts` columns (without the entry and snapshot ids)."""
    return {
        "status": row.status,
        "nature": row.nature,
        "unit_code": row.unit_code,
        "category_code": row.category_code,
        "residual_band": row.residual_band,
        "inherent_likelihood": row.inherent_likelihood,
        "inherent_impact": row.inherent_impact,
        "target_likelihood": row.target_likelihood,
        "target_impact": row.target_impact,
        "assessed_on": row.assessed_on,
        "acceptance_until": row.acceptance_until,
        "overdue_actions": len(row.overdue_actions(as_at)),
    }


def record_facts(session: Session, snapshot_id: int, rows: Iterable[tuple[int, RiskRow]], as_at: date) -> None:
    """Write the facts of a snapshot's entries just inserted; `rows` are (risk id, frozen row)."""
    entry_ids = dict(
        session.execute(
            select(SnapshotEntry.risk_id, SnapshotEntry.id).where(SnapshotEntry.snapshot_id == snapshot_id)
        ).all()
    )
    values = [
        {"entry_id": entry_ids[risk_id], "snapshot_id": snapshot_id, **fact_columns(row, as_at)}
        for risk_id, row in rows
    ]
    if values:
        session.execute(cast_table(SnapshotFact).insert(), values)


def cast_table(model: type[SnapshotFact]) -> Table:
    return typing_cast(Table, model.__table__)


def frozen_facts(session: Session, snapshot_id: int, as_at: date) -> list[Fact]:
    """Every entry of a frozen snapshot, in entry order (as `load_snapshot` reads them); no JSON is read."""
    e, f = SnapshotEntry, SnapshotFact
    query = (
        select(
            e.risk_id,
            e.ref,
            f.unit_code,
            f.category_code,
            f.status,
            f.nature,
            e.zone,
            e.residual_score,
            e.residual_likelihood,
            e.residual_impact,
            f.inherent_likelihood,
            f.inherent_impact,
            f.target_likelihood,
            f.target_impact,
            _flag(f.acceptance_until >= as_at),
            _flag(f.overdue_actions > 0),
            f.residual_band,
            type_coerce(f.assessed_on, String),
            _flag(f.status.not_in(_CLOSED_VALUES)),
        )
        .join(f, f.entry_id == e.id)
        .where(e.snapshot_id == snapshot_id)
        .order_by(e.id)
    )
    return _plain_facts(session, query)


def _plain_facts(session: Session, query: Select[*tuple[Any, ...]]) -> list[Fact]:
    """The query's rows as Facts, straight from the driver's tuples.

    At 100,000 risks, wrapping each row as a SQLAlchemy Row and iterating it cost more than the query; every
    column here is an integer, text or date the driver returns as is (the flags are 0/1 from SQL).
    """
    connection = session.connection()
    compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    arguments: Any = tuple(params[name] for name in compiled.positiontup or ()) if compiled.positional else params
    cursor = connection.connection.cursor()
    try:
        cursor.execute(str(compiled), arguments)
        return list(map(Fact._make, cursor.fetchall()))
    finally:
        cursor.close()


def frozen_rows(session: Session, snapshot_id: int, keys: Iterable[int]) -> dict[int, RiskRow]:
    """The stored rows of the risks `keys` in one snapshot, by risk id (the JSON of these entries only)."""
    wanted = sorted(set(keys))
    found: dict[int, RiskRow] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = select(SnapshotEntry.risk_id, SnapshotEntry.row_json).where(
            SnapshotEntry.snapshot_id == snapshot_id, SnapshotEntry.risk_id.in_(chunk)
        )
        for risk_id, text in session.execute(query):
            found[risk_id] = row_from_json(json.loads(text))
    return found


class Frozen(NamedTuple):
    """A closed cycle's snapshot header."""

    id: int
    content_hash: str
    as_at: date
    statement_version: str
    scales_version: str


def snapshot_of(session: Session, cycle: ReviewCycle) -> Frozen | None:
    """The header of a closed cycle's snapshot; None when it has none."""
    found = session.execute(
        select(
            CycleSnapshot.id,
            CycleSnapshot.content_hash,
            CycleSnapshot.as_at,
            CycleSnapshot.statement_version,
            CycleSnapshot.scales_version,
        ).where(CycleSnapshot.review_cycle_id == cycle.id)
    ).first()
    return Frozen(*found) if found else None


def by_ref(facts: Sequence[Fact], open_only: bool = True) -> dict[str, Fact]:
    return {f.ref: f for f in facts if f.is_open or not open_only}
