"""Oversight recommendations: the summary sentence, status updates with their append-only history, as-at counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from riskreg.audit import SYSTEM, Actor
from riskreg.extensions import db
from riskreg.models import AuditEvent, RecommendationStatusChange, RecStatus, RecType, Role
from riskreg.oversight import operations as ops
from riskreg.oversight import queries
from riskreg.oversight.summary import summarise
from tests.factories import make_recommendation, make_risk, make_unit, make_user

F, INF = RecType.FORMAL, RecType.INFORMAL
S = RecStatus

TASK_FORCE_SENTENCE = (
    "Out of the 11 formal recommendations addressed to the secretariat, 10 have been implemented and 1 is in "
    "progress; out of the 35 informal recommendations, 21 have been implemented, 12 are on track and 2 are under "
    "consideration by the governing bodies."
)


def task_force_pairs() -> list[tuple[RecType, RecStatus]]:
    return (
        [(F, S.IMPLEMENTED)] * 10
        + [(F, S.IN_PROGRESS)]
        + [(INF, S.IMPLEMENTED)] * 21
        + [(INF, S.ON_TRACK)] * 12
        + [(INF, S.UNDER_CONSIDERATION)] * 2
    )


def test_summary_sentence_is_the_task_forces() -> None:
    summary = summarise(reversed(task_force_pairs()))
    assert summary.sentence == TASK_FORCE_SENTENCE
    assert (summary.count(F), summary.count(F, S.IMPLEMENTED), summary.count(INF, S.ON_TRACK)) == (11, 10, 12)
    assert summary.statuses == (S.IMPLEMENTED, S.IN_PROGRESS, S.ON_TRACK, S.UNDER_CONSIDERATION)


def test_summary_sentence_singulars_and_empty() -> None:
    assert summarise([]).sentence == "There are no recommendations to report."
    assert summarise([(INF, S.NOT_STARTED)]).sentence == (
        "Out of the 1 informal recommendation addressed to the secretariat, 1 has not been started."
    )


def test_status_update_appends_history_and_audit(ctx: None) -> None:
    unit = make_unit()
    focal = make_user(role=Role.FOCAL_POINT, unit=unit)
    rec = make_recommendation(unit=unit)
    with pytest.raises(ops.OversightError, match="evidence"):
        ops.update_status(db.session, Actor.of(focal), rec, rec.version, ops.StatusUpdate(S.IMPLEMENTED))
    db.session.rollback()
    ops.update_status(
        db.session,
        Actor.of(focal),
        rec,
        rec.version,
        ops.StatusUpdate(S.IMPLEMENTED, reason="done", evidence="Policy SG/2026/4 issued"),
    )
    rows = queries.history(db.session, rec.id)
    assert [(r.from_status, r.to_status) for r in rows] == [(None, S.IN_PROGRESS), (S.IN_PROGRESS, S.IMPLEMENTED)]
    assert rows[-1].actor_email == focal.email
    assert rows[-1].evidence == "Policy SG/2026/4 issued"
    assert rec.status == S.IMPLEMENTED
    assert rec.evidence == "Policy SG/2026/4 issued"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "status")) is not None


def test_stale_version_is_refused(ctx: None) -> None:
    rec = make_recommendation(unit=make_unit())
    with pytest.raises(ops.StaleEdit):
        ops.update_status(db.session, SYSTEM, rec, rec.version + 1, ops.StatusUpdate(S.ON_TRACK))


@pytest.mark.parametrize("statement", ["UPDATE {t} SET reason = 'x'", "DELETE FROM {t}"])
def test_status_history_is_append_only(app: Flask, statement: str) -> None:
    with app.app_context():
        make_recommendation(unit=make_unit())
        with pytest.raises(DatabaseError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement.format(t=RecommendationStatusChange.__tablename__)))


def test_summary_as_at_a_past_date_reproduces_that_days_counts(ctx: None) -> None:
    # Recorded on 10 March (formal, in progress) and 1 May (informal, on track); the first implemented on 1 June.
    day = datetime(2026, 3, 10, 9, tzinfo=UTC)
    unit2 = make_unit()
    a = ops.add_recommendation(db.session, SYSTEM, _new("A1", F, S.IN_PROGRESS, unit2.id), at=day)
    ops.add_recommendation(db.session, SYSTEM, _new("A2", INF, S.ON_TRACK, unit2.id), at=day + timedelta(days=52))
    ops.update_status(
        db.session, SYSTEM, a, a.version, ops.StatusUpdate(S.IMPLEMENTED, evidence="x"), at=day + timedelta(days=83)
    )
    coordinator = make_user(role=Role.COORDINATOR)

    def counts(as_at: date | None) -> dict[str, int]:
        rows = [r for r in queries.counted(db.session, coordinator, as_at) if r.report_symbol == "IAU/2026/1"]
        summary = queries.summary_of(rows)
        pairs = {f"{t.value}:{s.value}": summary.count(t, s) for t in RecType for s in summary.statuses}
        return {k: n for k, n in pairs.items() if n}

    assert counts(date(2026, 3, 9)) == {}
    assert counts(date(2026, 3, 10)) == {"formal:in_progress": 1}
    assert counts(date(2026, 5, 1)) == {"formal:in_progress": 1, "informal:on_track": 1}
    assert counts(date(2026, 6, 1)) == counts(None)
    assert counts(None)["formal:implemented"] == 1


def _new(number: str, rec_type: RecType, status: RecStatus, unit_id: int) -> ops.NewRecommendation:
    ops.ensure_report(db.session, ops.ensure_body(db.session, "IAU"), "IAU/2026/1")
    return ops.NewRecommendation(
        "IAU/2026/1", number, "Review the controls", rec_type, status=status, org_unit_id=unit_id
    )


def test_links_to_risks_both_ways_within_scope(ctx: None) -> None:
    mine, other = make_unit(), make_unit()
    focal = make_user(role=Role.FOCAL_POINT, unit=mine)
    own_risk = make_risk(unit=mine)
    other_risk = make_risk(unit=other, title="Another unit's risk")
    rec = make_recommendation(unit=mine, risk_ids=(own_risk.id, other_risk.id))
    assert [r.id for r in queries.linked_risks(db.session, focal, rec.id)] == [own_risk.id]
    assert [r.id for r in queries.for_risk(db.session, focal, own_risk.id)] == [rec.id]
    outsider = make_user(role=Role.FOCAL_POINT, unit=other)
    assert queries.for_risk(db.session, outsider, other_risk.id) == []
    assert queries.get(db.session, outsider, rec.id) is None
    ops.set_risk_links(db.session, SYSTEM, rec, [other_risk.id])
    assert queries.for_risk(db.session, focal, own_risk.id) == []
