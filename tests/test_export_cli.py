"""`riskreg export council`: the Council workbook from the command line, logged like a web download."""

from __future__ import annotations

import hashlib
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import func, select

from riskreg.audit import SYSTEM
from riskreg.exports.commands import export_group
from riskreg.extensions import db
from riskreg.models import AuditEvent, ExportRun
from riskreg.review import agenda, queries
from riskreg.review import operations as review_ops
from tests.factories import make_risk, make_unit

Q1 = review_ops.CycleInput("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), target_session="Council 2026")
Q2 = review_ops.CycleInput("2026-Q2", date(2026, 4, 1), date(2026, 6, 30))


@pytest.fixture(autouse=True)
def _fresh_memos() -> None:
    for memo in (queries._SNAPSHOTS, queries._VIEWS, agenda._MOVES):
        memo.clear()


@pytest.fixture
def register(app: Flask) -> None:
    """2026-Q1 closed with a High, a Low and a confidential Critical risk; 2026-Q2 open."""
    with app.app_context():
        unit = make_unit(code="GS-CLI")
        make_risk(unit=unit, residual=(3, 4))
        make_risk(unit=unit, residual=(1, 2))
        make_risk(unit=unit, title="Confidential matter", residual=(5, 5), is_confidential=True)
        review_ops.open_cycle(db.session, SYSTEM, Q1)
        cycle = queries.cycle_by_code(db.session, "2026-Q1")
        cycle.narrative = "First quarter reviewed."  # closing needs a narrative
        review_ops.close_cycle(db.session, SYSTEM, cycle, cycle.version)
        review_ops.open_cycle(db.session, SYSTEM, Q2)


def run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(export_group, ["council", *args])


def test_writes_the_workbook_and_logs_its_hash(app: Flask, register: None, tmp_path: Path) -> None:
    out = tmp_path / "annex.xlsx"
    result = run(app, "--cycle", "2026-Q1", "--out", str(out), "--symbol", "C26/12", "--annex", "3")
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    book = load_workbook(BytesIO(data))
    assert "Register" in book.sheetnames
    with app.app_context():
        export = db.session.scalars(select(ExportRun)).one()
        assert export.sha256 == hashlib.sha256(data).hexdigest()
        assert (export.audience, export.doc_symbol, export.risk_count) == ("council", "C26/12", 1)
        assert export.file_name == "C26-12_Annex3_2026-Q1_council.xlsx"
        assert export.generated_by_id is None
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
        assert event.actor_email.startswith("cli:")
    assert export.sha256 in result.stderr
    assert "writing workbook:" in result.stderr  # progress
    assert "100%" in result.stderr


def test_taskforce_audience_and_now_draft(app: Flask, register: None, tmp_path: Path) -> None:
    out = tmp_path / "draft.xlsx"
    result = run(app, "--cycle", "now", "--out", str(out), "--audience", "taskforce", "--quiet")
    assert result.exit_code == 0, result.output
    assert "writing workbook" not in result.stderr
    book = load_workbook(BytesIO(out.read_bytes()))
    assert "(DRAFT)" in str(book.properties.title)
    with app.app_context():
        export = db.session.scalars(select(ExportRun)).one()
        assert (export.audience, export.risk_count, export.review_cycle_id) == ("taskforce", 3, None)
        assert export.file_name == "Risk-register_Annex1_2026-Q2-DRAFT_taskforce.xlsx"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cycle", "1999-Q1"], "no review cycle '1999-Q1' (closed cycles: 2026-Q1"),
        (["--cycle", "2026-Q2"], "Cycle 2026-Q2 is not closed yet"),
        (["--cycle", "2026-Q1", "--symbol", "x" * 101], "at most 100 fit"),
        (["--cycle", "2026-Q1", "--annex", "2/3"], "annex number"),
        (["--cycle", "2026-Q1", "--prepared-by", " "], "which unit prepared"),
    ],
)
def test_errors_are_one_line_with_a_non_zero_exit(
    app: Flask, register: None, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "x.xlsx"
    result = run(app, *args, "--out", str(out))
    assert result.exit_code != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: ")
    assert message.lower() in lines[0].lower()
    assert not out.exists()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExportRun)) == 0


def test_output_path_is_checked_before_any_work(app: Flask, register: None, tmp_path: Path) -> None:
    wrong_suffix = run(app, "--cycle", "2026-Q1", "--out", str(tmp_path / "annex.pdf"))
    assert wrong_suffix.exit_code != 0
    assert "must end in .xlsx" in wrong_suffix.stderr
    no_folder = run(app, "--cycle", "2026-Q1", "--out", str(tmp_path / "missing" / "annex.xlsx"))
    assert no_folder.exit_code != 0
    assert "no such folder" in no_folder.stderr
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExportRun)) == 0
