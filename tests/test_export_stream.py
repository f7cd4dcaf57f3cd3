"""The Council export reads snapshots as a stream and the previous cycle slim: the same workbook, byte for byte.

The reference is the way snapshots were read before (every stored row parsed and kept, the previous cycle in
full): on the demo register (two closed cycles, an open one, confidential, accepted, escalated, closed and
moved risks) both audiences, from a closed cycle and from "now", give identical files.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskreg.audit import SYSTEM
from riskreg.demo.build import load_demo
from riskreg.exports import operations
from riskreg.extensions import db
from riskreg.models import CycleSnapshot, ReviewCycle, SnapshotEntry
from riskreg.review import agenda, queries
from riskreg.review import operations as review_ops
from riskreg.snapshot import Snapshot, row_from_json

MOMENT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def reference_snapshot(session: Session, cycle: ReviewCycle, *, slim: bool = False) -> Snapshot:
    """A snapshot read all at once and in full, whatever `slim` says (how exports read them before)."""
    frozen = session.scalars(select(CycleSnapshot).where(CycleSnapshot.review_cycle_id == cycle.id)).one()
    texts = session.scalars(
        select(SnapshotEntry.row_json).where(SnapshotEntry.snapshot_id == frozen.id).order_by(SnapshotEntry.id)
    ).all()
    rows = tuple(row_from_json(json.loads(t)) for t in texts)
    return Snapshot(cycle.code, frozen.as_at, frozen.statement_version, frozen.scales_version, rows)


def export(cycle: ReviewCycle | None, audience: str) -> bytes:
    return operations.build_council_export(
        db.session,
        SYSTEM,
        cycle=cycle,
        audience=audience,
        symbol="C26/12",
        annex="2",
        classification="For official use only",
        prepared_by="Strategic Planning and Membership Department",
        organisation="Demo Organisation",
        organisation_short="DEMO",
        generated_at=MOMENT,
    ).data


@pytest.mark.parametrize("audience", ["council", "taskforce"])
def test_streamed_export_gives_the_same_bytes(app: Flask, audience: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for memo in (queries._SNAPSHOTS, queries._VIEWS, agenda._MOVES):
        memo.clear()
    with app.app_context():
        load_demo(db.session, risks=60, seed=2026)
        cycle = operations.closed_cycles(db.session)[0]
        streamed = [export(cycle, audience), export(None, audience)]
        with monkeypatch.context() as patch:
            patch.setattr(operations, "load_snapshot", reference_snapshot)
            before = [export(cycle, audience), export(None, audience)]
        assert streamed == before


def test_streamed_snapshot_equals_the_stored_rows(app: Flask) -> None:
    with app.app_context():
        load_demo(db.session, risks=60, seed=2026)
        for cycle in operations.closed_cycles(db.session):
            full = review_ops.load_snapshot(db.session, cycle)
            assert full == reference_snapshot(db.session, cycle)
            slim = review_ops.load_snapshot(db.session, cycle, slim=True)
            assert [r.ref for r in slim.rows] == [r.ref for r in full.rows]
            assert all(not r.actions and not r.cause for r in slim.rows)
