"""The demo JIU management review gives the task force figures exactly: page, command, workbook, as at a date."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient

from riskreg import policy
from riskreg.audit import SYSTEM
from riskreg.demo import load_demo
from riskreg.demo.content import DEMO_PASSWORD
from riskreg.extensions import db
from riskreg.models import RecStatus, RecType
from riskreg.oversight import queries
from riskreg.oversight.commands import recommendations_group
from tests.conftest import login

JIU = "JIU/REP/2016/1"
SENTENCE = (
    "Out of the 11 formal recommendations addressed to the secretariat, 10 have been implemented and 1 is in "
    "progress; out of the 35 informal recommendations, 21 have been implemented, 12 are on track and 2 are under "
    "consideration by the governing bodies."
)


@pytest.fixture
def demo(app: Flask) -> Flask:
    with app.app_context():
        policy.load_bundled_policy(db.session, SYSTEM)
        db.session.commit()
        load_demo(db.session)
    return app


def _jiu(as_at: date | None = None) -> queries.Summary:
    return queries.summary_of([r for r in queries.counted(db.session, None, as_at) if r.report_symbol == JIU])


def test_demo_jiu_review_reproduces_the_task_force_figures(demo: Flask, client: FlaskClient) -> None:
    with demo.app_context():
        summary = _jiu()
        assert summary.sentence == SENTENCE
        assert summary.count(RecType.FORMAL, RecStatus.IMPLEMENTED) == 10
        assert summary.count(RecType.INFORMAL, RecStatus.UNDER_CONSIDERATION) == 2
        # Before the previous cycle closed, two informal ones were still on track (implemented in October, November).
        then = _jiu(date(2026, 9, 30))
        assert then.count(RecType.INFORMAL, RecStatus.IMPLEMENTED) == 19
        assert then.count(RecType.INFORMAL, RecStatus.ON_TRACK) == 14
        assert _jiu(date(2017, 1, 19)).total == 0
        assert _jiu(date(2017, 1, 20)).count(RecType.FORMAL, RecStatus.IN_PROGRESS) == 11
    login(client, "coordinator@demo.riskreg.org", DEMO_PASSWORD)
    page = client.get("/oversight/summary").get_data(as_text=True)
    section = page.split(f'data-report="{JIU}"')[1].split("</section>")[0]
    assert SENTENCE in section
    review = client.get("/review/").get_data(as_text=True)
    assert "I-21</a>: On track → Implemented" in review.replace("· ", "")
    result = demo.test_cli_runner().invoke(recommendations_group, ["summary", "--report", JIU])
    assert result.exit_code == 0, result.output
    assert SENTENCE in result.output
    past = demo.test_cli_runner().invoke(recommendations_group, ["summary", "--report", JIU, "--as-at", "2026-09-30"])
    assert "19 have been implemented, 14 are on track" in past.output


def test_demo_audit_recommendations_are_linked_to_demo_risks(demo: Flask, client: FlaskClient) -> None:
    login(client, "viewer@demo.riskreg.org", DEMO_PASSWORD)
    listing = client.get("/oversight/?body=IAU").get_data(as_text=True)
    assert "IAU/2026/03" in listing
    with demo.app_context():
        from sqlalchemy import select

        from riskreg.models import Recommendation, RecommendationRisk

        linked = db.session.scalars(
            select(Recommendation.id).join(RecommendationRisk).where(Recommendation.report_id.is_not(None))
        ).all()
        assert len(set(linked)) >= 8


def test_council_workbook_sheet_gives_the_figures(demo: Flask) -> None:
    import io

    from openpyxl import load_workbook

    from riskreg.exports.operations import build_council_export, find_cycle

    with demo.app_context():
        common = {
            "audience": "taskforce",
            "symbol": "C26/12",
            "annex": "2",
            "classification": "Internal",
            "prepared_by": "SPM",
            "organisation": "IUCS",
            "organisation_short": "IUCS",
        }
        now = build_council_export(db.session, SYSTEM, cycle=None, **common)
        book = load_workbook(io.BytesIO(now.data), read_only=True)
        cells = [str(v) for row in book["Oversight recommendations"].iter_rows(values_only=True) for v in row if v]
        book.close()
        assert SENTENCE in cells
        assert "Report JIU/REP/2016/1 (JIU)" in cells
        assert "As at the end of 2026-Q3 (30 Sep 2026)" in cells
        # A closed cycle's workbook shows the recommendations as they stood at its close, from the history.
        closed = find_cycle(db.session, "2026-Q3")
        assert closed is not None
        then = build_council_export(db.session, SYSTEM, cycle=closed, **common)
        book = load_workbook(io.BytesIO(then.data), read_only=True)
        text = " ".join(
            str(v) for row in book["Oversight recommendations"].iter_rows(values_only=True) for v in row if v
        )
        book.close()
        assert "21 have been implemented, 12 are on track" not in text
        assert "19 have been implemented, 14 are on track and 2 are under consideration" in text
