"""Import apply at bulk speed and imports serialised per unit: both databases.

The bulk writer must write what the register's operations write for the same input (risk, judged assessment,
escalation, control, actions, audit events); concurrent applies of previews into one unit, with a form edit in
between, never duplicate or lose a risk: one wins, the other is told the register changed (real threads, each
with its own connection, several rounds).
"""

from __future__ import annotations

import json
import threading
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from riskreg.audit import SYSTEM
from riskreg.extensions import db
from riskreg.importer import read_register
from riskreg.imports import bulk
from riskreg.imports import operations as import_ops
from riskreg.models import Action, AuditEvent, Control, Escalation, ImportRun, OrgUnit, Risk, RiskStatus
from riskreg.policy import current_scales
from riskreg.risks import operations as ops
from tests.factories import category
from tests.test_imports import register_book, register_row, world  # noqa: F401 - the fixture, used by name

pytestmark = pytest.mark.usefixtures("world")

_RISK_SKIP = {"id", "ref", "ref_seq", "org_unit_id", "created_at", "updated_at", "version", "current_assessment_id"}


def _row_values(record: Any, skip: set[str]) -> dict[str, Any]:
    return {c.key: getattr(record, c.key) for c in record.__table__.columns if c.key not in skip}


def _audit(ref: str, unit_prefix: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.summary.contains(ref)).order_by(AuditEvent.id)
    ).all()
    # Ids and references differ between the two risks; what was recorded about them must not.
    return [
        (e.action, e.entity, e.summary.replace(ref, "REF"), json.loads(e.changes_json.replace(unit_prefix, "P")))
        for e in events
    ]


def test_bulk_writer_writes_what_the_operations_write(app: Flask) -> None:
    with app.app_context():
        scales = current_scales(db.session)
        frmd = db.session.scalars(select(OrgUnit).where(OrgUnit.code == "GS-FRMD")).one()
        ict = db.session.scalars(select(OrgUnit).where(OrgUnit.code == "GS-ICT")).one()
        fin = category("FIN").id
        items = [
            bulk.NewRisk(
                data=ops.RiskInput(
                    "Late contributions", "c", "e", "q", fin, "Chief, Budget", target_likelihood=1, target_impact=2
                ),  # fmt: skip
                status=RiskStatus.ACTIVE,
                ref=None,
                assessment=ops.AssessmentInput(4, 4, 2, 3, rationale="Imported from x.xlsx."),
                control=ops.ControlInput(description="Monthly review"),
                actions=(
                    ops.ActionInput("Chase members", "Chief, Budget", date(2027, 3, 1)),
                    ops.ActionInput("Reserve fund", "Chief, Budget", date(2027, 6, 1)),
                ),
            ),
            bulk.NewRisk(
                data=ops.RiskInput("Treasury fraud", "c", "e", "q", fin, "Treasurer"),
                status=RiskStatus.ACTIVE,
                ref=None,
                assessment=ops.AssessmentInput(5, 5, 5, 5, rationale="Imported from x.xlsx."),
            ),
        ]
        for item in items:
            bulk.check(item, scales)
        bulk_refs = bulk.create_risks(db.session, SYSTEM, ict, items, scales)
        hand_refs = []
        for item in items:
            risk = ops.create_risk(db.session, SYSTEM, item.data, frmd.id, assessment=item.assessment, scales=scales,
                                   status=item.status, commit=False)  # fmt: skip
            if item.control:
                ops.add_control(db.session, SYSTEM, risk, item.control, commit=False)
            for action in item.actions:
                ops.add_action(db.session, SYSTEM, risk, action, commit=False)
            hand_refs.append(risk.ref)
        db.session.commit()
        for bulk_ref, hand_ref in zip(bulk_refs, hand_refs, strict=True):
            made = db.session.scalars(select(Risk).where(Risk.ref == bulk_ref)).one()
            typed = db.session.scalars(select(Risk).where(Risk.ref == hand_ref)).one()
            assert _row_values(made, _RISK_SKIP) == _row_values(typed, _RISK_SKIP)
            assert made.current_assessment is not None
            assert typed.current_assessment is not None
            skip = {"id", "risk_id", "created_at"}
            assert _row_values(made.current_assessment, skip) == _row_values(typed.current_assessment, skip)
            assert [c.description for c in made.controls] == [c.description for c in typed.controls]
            assert [(a.ref.replace(bulk_ref, "R"), a.due_date) for a in made.actions] == [
                (a.ref.replace(hand_ref, "R"), a.due_date) for a in typed.actions
            ]
            escalations = [
                db.session.scalars(
                    select(Escalation.reason, Escalation.to_level).where(Escalation.risk_id == r.id)
                ).all()
                for r in (made, typed)
            ]
            assert escalations[0] == escalations[1]
            assert _audit(bulk_ref, "ICT") == _audit(hand_ref, "FRMD")
        assert db.session.scalar(select(func.count()).select_from(Escalation)) == 2  # the 5x5 risks, outside tolerance


def _apply_in_thread(app: Flask, data: bytes, seen: dict[str, int], start: threading.Barrier, out: list[str]) -> None:
    with app.app_context():  # its own session, so its own connection
        unit = db.session.scalars(select(OrgUnit).where(OrgUnit.code == "GS-FRMD")).one()
        result = read_register(data, "race.xlsx", current_scales(db.session))
        db.session.rollback()  # start the import's transaction together with the other thread's
        start.wait()
        try:
            import_ops.apply_file(db.session, SYSTEM, unit, result, seen=seen, scales=current_scales(db.session))
            out.append("applied")
        except import_ops.ImportRaced as raced:
            out.append(f"raced: {raced.plan.counts()}")
        finally:
            db.session.remove()


def _edit_in_thread(app: Flask, round_: int, start: threading.Barrier, out: list[str]) -> None:
    with app.app_context():
        unit = db.session.scalars(select(OrgUnit).where(OrgUnit.code == "GS-FRMD")).one()
        data = ops.RiskInput(f"Typed in round {round_}", "c", "e", "q", category("FIN").id, "Chief, Budget")
        db.session.rollback()
        start.wait()
        try:
            ops.create_risk(db.session, SYSTEM, data, unit.id, scales=current_scales(db.session))
            out.append("typed")
        finally:
            db.session.remove()


def test_concurrent_applies_into_one_unit_never_duplicate_or_lose_risks(app: Flask) -> None:
    rounds, rows = 8, 12
    for round_ in range(rounds):
        data = register_book(*[register_row(f"R{round_}-{n:02d}", f"Round {round_} risk {n}") for n in range(rows)])
        with app.app_context():
            unit = db.session.scalars(select(OrgUnit).where(OrgUnit.code == "GS-FRMD")).one()
            seen = import_ops.plan_for_unit(
                db.session, unit, read_register(data, "race.xlsx", current_scales(db.session))
            ).counts()
            assert seen["new"] == rows
        start = threading.Barrier(3)
        out: list[str] = []
        threads = [
            threading.Thread(target=_apply_in_thread, args=(app, data, seen, start, out)),
            threading.Thread(target=_apply_in_thread, args=(app, data, seen, start, out)),
            threading.Thread(target=_edit_in_thread, args=(app, round_, start, out)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert sorted(out) == sorted(
            ["applied", "typed", f"raced: {{'new': 0, 'update': 0, 'unchanged': {rows}, 'error': 0}}"]
        ), out
        with app.app_context():
            refs = db.session.scalars(select(Risk.ref).where(Risk.ref.like(f"R{round_}-%"))).all()
            assert len(refs) == rows == len(set(refs))
            typed = db.session.scalars(select(Risk.ref).where(Risk.title == f"Typed in round {round_}")).all()
            assert len(typed) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportRun)) == rounds
        assert db.session.scalar(select(func.count()).select_from(Control)) >= rounds * rows
        assert db.session.scalar(select(func.count()).select_from(Action)) >= rounds * rows


def test_a_retried_apply_with_the_same_key_returns_the_first_run(app: Flask) -> None:
    data = register_book(register_row("KEY-1", "Once only"))
    with app.app_context():
        unit = db.session.scalars(select(OrgUnit).where(OrgUnit.code == "GS-FRMD")).one()
        result = read_register(data, "once.xlsx", current_scales(db.session))
        first = import_ops.apply_file(db.session, SYSTEM, unit, result, seen=None, scales=current_scales(db.session),
                                      idempotency_key="job:1")  # fmt: skip
        scales = current_scales(db.session)
        again = import_ops.apply_file(db.session, SYSTEM, unit, result, seen={"new": 1}, scales=scales,
                                      idempotency_key="job:1")  # fmt: skip
        assert again.id == first.id
        assert db.session.scalar(select(func.count()).select_from(ImportRun)) == 1
        assert db.session.scalar(select(func.count()).select_from(Risk).where(Risk.ref == "KEY-1")) == 1
