"""The review page computed from facts (riskreg/review/page.py) gives the figures of the row-by-row path.

The row-by-row functions in `queries` and `agenda` (every RiskRow built, movement compared in Python) are
the reference: on a fixture register with a rise, a fall, a new, a closed, an accepted, an opportunity and
an overdue action, open and closed, the heatmap (its cache key, so every point and arrow), the headline
numbers, the agenda (members, totals, notes, movement) and a cell's rows must be equal.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import current_app
from flask.testing import FlaskClient
from sqlalchemy import func, select

from riskreg.audit import SYSTEM
from riskreg.extensions import db
from riskreg.models import (
    AcceptanceStatus,
    EscalationLevel,
    Nature,
    ReviewCycle,
    Risk,
    RiskAcceptance,
    RiskStatus,
    Role,
    SnapshotEntry,
    SnapshotFact,
)
from riskreg.review import agenda, facts, page, queries
from riskreg.review import operations as ops
from riskreg.risks import operations as risk_ops
from tests.conftest import login
from tests.factories import make_risk, make_user
from tests.test_review import build_register, close, reassess

FILTERS = [
    queries.HeatFilters(),
    queries.HeatFilters(nature="all"),
    queries.HeatFilters(nature="opportunity"),
    queries.HeatFilters(unit="GS-ALPHA"),
    queries.HeatFilters(unit="BETA", category="FIN"),
    queries.HeatFilters(zone="outside_tolerance"),
    queries.HeatFilters(category="OPS", nature="all"),
]
OPTIONS = [
    queries.HeatOptions(),
    queries.HeatOptions(kind="inherent"),
    queries.HeatOptions(kind="target", arrows=False),
    queries.HeatOptions(kind="target", overlay="FIN"),
    queries.HeatOptions(arrows=False, palette="colourblind"),
]


@pytest.fixture(autouse=True)
def _fresh_memos() -> None:
    for memo in (queries._SNAPSHOTS, queries._VIEWS, agenda._MOVES, page._FACTS, page._VIEWS, page._PAGES):
        memo.clear()


def richer_register(*, close_q2: bool) -> None:
    """test_review's register, plus a closed risk, an accepted one, an opportunity and a target."""
    built = build_register(close_q2=False)
    unit = built.alpha
    gone = db.session.scalars(select(Risk).where(Risk.ref == built.refs["low"])).one()
    risk_ops.set_status(db.session, SYSTEM, gone, RiskStatus.CLOSED, "Treated", gone.version)
    accepted = make_risk(unit=unit, category_code="FIN", residual=(3, 4))
    db.session.add(
        RiskAcceptance(
            risk_id=accepted.id,
            assessment_id=accepted.current_assessment_id,
            decision_level=EscalationLevel.EXECUTIVE,
            justification="cost of treatment",
            decided_on=date.today(),
            valid_until=date.today() + timedelta(days=90),
            status=AcceptanceStatus.ACTIVE,
        )
    )
    db.session.commit()
    make_risk(unit=built.beta, category_code="OPS", residual=(2, 4), nature=Nature.OPPORTUNITY)
    make_risk(unit=unit, category_code="OPS", residual=(4, 4), target_likelihood=2, target_impact=2)
    rises = db.session.scalars(select(Risk).where(Risk.ref == built.refs["critical"])).one()
    reassess(rises, (5, 5))
    if close_q2:
        close("2026-Q2")


def _reference(code: str, request: queries.ReviewRequest) -> tuple[object, ...]:
    data = queries.load_cycle(db.session, queries.cycle_by_code(db.session, code))
    view = queries.build_heatmap(data, request, current_app.config["ORGANISATION_SHORT"])
    moves = agenda.movements(data)
    rows = queries.select_rows(data.snapshot, request.filters)
    summary = agenda.summarise(rows, moves, request.filters)
    sections = agenda.agenda(data, request.filters, moves)
    return view, summary, sections


def _same_agenda(got: list[agenda.AgendaSection], want: list[agenda.AgendaSection]) -> None:
    assert [(s.key, s.title, s.description, s.total) for s in got] == [
        (s.key, s.title, s.description, s.total) for s in want
    ]
    for mine, theirs in zip(got, want, strict=True):
        assert [(i.row, i.move, i.note) for i in mine.items] == [(i.row, i.move, i.note) for i in theirs.items]


@pytest.mark.parametrize("close_q2", [False, True], ids=["open", "closed"])
def test_facts_give_the_row_by_row_figures(ctx: None, close_q2: bool) -> None:
    richer_register(close_q2=close_q2)
    cycle = queries.cycle_by_code(db.session, "2026-Q2")
    short = current_app.config["ORGANISATION_SHORT"]
    seen_new = seen_increased = seen_closed = 0
    for filters in FILTERS:
        for options in OPTIONS:
            request = queries.ReviewRequest("2026-Q2", filters=filters, options=options)
            want_view, want_summary, want_agenda = _reference("2026-Q2", request)
            got = page.review_page(db.session, cycle, request, short)
            assert got.view.key == want_view.key
            assert got.view.counts == want_view.counts
            assert got.view.not_placed == want_view.not_placed
            assert got.view.alt_text() == want_view.alt_text()
            assert got.summary == want_summary
            _same_agenda(got.agenda, want_agenda)
            seen_new += got.summary.new
            seen_increased += got.summary.increased
            seen_closed += got.summary.closed
    # The fixture exercises every kind of movement the page counts.
    assert seen_new
    assert seen_increased
    assert seen_closed


@pytest.mark.parametrize("close_q2", [False, True], ids=["open", "closed"])
def test_a_cell_lists_the_same_rows_and_movement(ctx: None, close_q2: bool) -> None:
    richer_register(close_q2=close_q2)
    cycle = queries.cycle_by_code(db.session, "2026-Q2")
    request = queries.ReviewRequest("2026-Q2", filters=queries.HeatFilters(nature="all"))
    data = queries.load_cycle(db.session, cycle)
    want = queries.build_heatmap(data, request)
    register = page.load_register(db.session, cycle)
    view = page.build_heatmap(register, request)
    moves = agenda.movements(data)
    for (likelihood, impact), refs in want.counts.items():
        rows = page.cell_rows(db.session, register, view, likelihood, impact).rows
        assert rows == queries.cell_rows(want, likelihood, impact)
        assert page.moves_of(db.session, register, rows) == {r.ref: moves[r.ref] for r in rows if r.ref in moves}
        assert [r.ref for r in rows] == refs


def test_closing_writes_one_fact_per_entry_matching_its_row(ctx: None) -> None:
    richer_register(close_q2=True)
    entries = db.session.scalar(select(func.count()).select_from(SnapshotEntry))
    assert entries
    assert db.session.scalar(select(func.count()).select_from(SnapshotFact)) == entries
    for cycle in db.session.scalars(select(ReviewCycle)):
        frozen = facts.snapshot_of(db.session, cycle)
        assert frozen is not None
        snapshot = ops.load_snapshot(db.session, cycle)
        by_ref = {f.ref: f for f in facts.frozen_facts(db.session, frozen.id, frozen.as_at)}
        assert list(by_ref) == [row.ref for row in snapshot.rows]
        for row in snapshot.rows:
            fact = by_ref[row.ref]
            assert (fact.status, fact.nature, fact.unit_code, fact.category_code, fact.zone) == (
                row.status,
                row.nature,
                row.unit_code,
                row.category_code,
                row.zone,
            )
            assert fact.residual == (row.residual_likelihood, row.residual_impact)
            assert fact.inherent == (row.inherent_likelihood, row.inherent_impact)
            assert fact.overdue == bool(row.overdue_actions(frozen.as_at))
            assert fact.accepted == bool(row.acceptance_until and row.acceptance_until >= frozen.as_at)


def test_the_review_page_shows_the_open_cycle_from_facts(client: FlaskClient) -> None:
    with client.application.app_context():
        richer_register(close_q2=False)
        email = make_user(role=Role.TASKFORCE).email
    login(client, email)
    response = client.get("/review/?cycle=2026-Q2")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Live register as at" in body
    assert "Outside tolerance" in body


def test_a_cell_is_listed_in_pages(ctx: None, monkeypatch: pytest.MonkeyPatch) -> None:
    richer_register(close_q2=False)
    monkeypatch.setattr(page, "CELL_PAGE_SIZE", 1)
    cycle = queries.cycle_by_code(db.session, "2026-Q2")
    request = queries.ReviewRequest("2026-Q2", filters=queries.HeatFilters(nature="all"))
    register = page.load_register(db.session, cycle)
    view = page.build_heatmap(register, request)
    (cell, refs) = max(view.counts.items(), key=lambda item: len(item[1]))
    assert len(refs) > 1
    pages = [page.cell_rows(db.session, register, view, *cell, number) for number in range(1, len(refs) + 2)]
    assert [p.rows[0].ref for p in pages[:-1]] == refs
    assert pages[-1].page == len(refs)  # past the last page: the last one
    assert (pages[0].has_prev, pages[0].has_next, pages[0].total) == (False, True, len(refs))


@pytest.mark.parametrize("close_q2", [False, True], ids=["open", "closed"])
def test_opening_lists_from_facts(ctx: None, close_q2: bool) -> None:
    richer_register(close_q2=close_q2)
    cycle = queries.cycle_by_code(db.session, "2026-Q2")
    want = agenda.opening_lists(queries.load_cycle(db.session, cycle))
    register = page.load_register(db.session, cycle)
    got = page.opening_lists(db.session, register, 3)
    assert (got.due, got.high, got.not_within, got.high_bands, got.total) == (
        len(want.due),
        len(want.high),
        len(want.not_within),
        want.high_bands,
        len(want.combined),
    )
    assert got.combined == want.combined[:3]
    assert got.register_size == len(queries.load_cycle(db.session, cycle).snapshot.rows)
