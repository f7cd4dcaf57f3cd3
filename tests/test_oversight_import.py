"""Importing a recommendations list: preview, all-or-nothing apply, idempotence, hostile files, the commands."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import func, select

from riskreg.extensions import db
from riskreg.importer import ImportRejected
from riskreg.models import Recommendation, RecommendationStatusChange, RecStatus, Role
from riskreg.oversight import importing
from riskreg.oversight.commands import recommendations_group
from tests.conftest import login
from tests.factories import make_risk, make_unit, make_user
from tests.test_import_hostile import CORPUS

HEADER = (
    "Report",
    "Recommendation No.",
    "Text",
    "Type",
    "Addressee",
    "Acceptance",
    "Implementation status",
    "Comments",
)


def rows(status_of_2: str = "In progress") -> list[tuple[object, ...]]:
    return [
        ("JIU/REP/2016/1", "1", "Adopt a risk appetite", "Formal", "Executive head", "Accepted", "Implemented", "ok"),
        (
            "JIU/REP/2016/1",
            "2",
            "Review the register yearly",
            "Formal",
            "Legislative organ",
            "Accepted",
            status_of_2,
            "",
        ),
        ("JIU/REP/2016/1", "3", "Train risk owners", "Informal", "Executive head", "Accepted", "On track", ""),
    ]


def workbook(body: list[tuple[object, ...]], header: tuple[str, ...] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Follow-up of oversight recommendations"])  # a title row above the table
    sheet.append(list(header))
    for row in body:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_text(body: list[tuple[object, ...]]) -> bytes:
    lines = [";".join(HEADER)] + [";".join(str(v) for v in row) for row in body]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def test_read_list_finds_the_table_and_reads_the_states() -> None:
    read = importing.read_list(workbook(rows()), "list.xlsx")
    assert [(r.number, r.status) for r in read.rows] == [
        ("1", RecStatus.IMPLEMENTED),
        ("2", RecStatus.IN_PROGRESS),
        ("3", RecStatus.ON_TRACK),
    ]
    from_csv = importing.read_list(csv_text(rows()), "list.csv")
    assert [(r.key, r.text, r.rec_type, r.status) for r in from_csv.rows] == [
        (r.key, r.text, r.rec_type, r.status) for r in read.rows
    ]
    bad = importing.read_list(csv_text([("JIU/REP/2016/1", "9", "x", "Formal", "", "", "Half done", "")]), "b.csv")
    assert bad.rows[0].errors == ("status: 'Half done' is not a known status",)


def test_a_file_without_the_columns_is_refused() -> None:
    with pytest.raises(ImportRejected, match="No recommendations table"):
        importing.read_list(b"Ref,Title\r\nR-1,Power cut\r\n", "register.csv")


@pytest.mark.parametrize("case", [c for c in CORPUS if c.expect == "refused"], ids=lambda c: c.build.__name__)
def test_hostile_files_are_refused_as_by_the_register_import(case: object) -> None:
    from tests.test_import_hostile import Case

    assert isinstance(case, Case)
    data = case.build()
    with pytest.raises(ImportRejected):
        importing.read_list(data, case.filename)


def _counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        recs = db.session.scalar(select(func.count()).select_from(Recommendation)) or 0
        history = db.session.scalar(select(func.count()).select_from(RecommendationStatusChange)) or 0
        return recs, history


def _upload(client: FlaskClient, data: bytes, name: str = "list.xlsx") -> tuple[int, str]:
    response = client.post("/oversight/import", data={"file": (io.BytesIO(data), name)})
    return response.status_code, response.get_data(as_text=True)


def _token(page: str) -> str:
    found = re.search(r'name="token" type="hidden" value="([^"]+)"', page) or re.search(
        r'id="token" name="token" type="hidden" value="([^"]+)"', page
    )
    assert found, page
    return found.group(1)


def test_preview_apply_and_idempotence_on_the_web(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        coordinator = make_user(role=Role.COORDINATOR).email
    login(client, coordinator)
    status, page = _upload(client, workbook(rows()))
    assert status == 200
    assert "3 new, 0 to update, 0 unchanged, 0 with errors" in page
    assert _counts(app) == (0, 0)  # a preview writes nothing
    applied = client.post("/oversight/import/apply", data={"token": _token(page)})
    assert applied.status_code == 303
    assert _counts(app) == (3, 3)
    # The same list again changes nothing; a changed status is an update with a history row.
    _, again = _upload(client, workbook(rows()))
    assert "0 new, 0 to update, 3 unchanged" in again
    _, changed = _upload(client, workbook(rows(status_of_2="Implemented")))
    assert "0 new, 1 to update, 2 unchanged" in changed
    client.post("/oversight/import/apply", data={"token": _token(changed)})
    assert _counts(app) == (3, 4)
    with app.app_context():
        rec = db.session.scalars(select(Recommendation).where(Recommendation.number == "2")).one()
        assert rec.status == RecStatus.IMPLEMENTED
        assert rec.evidence == "Imported from list.xlsx"


def test_a_list_with_an_error_writes_nothing(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        coordinator = make_user(role=Role.COORDINATOR).email
    login(client, coordinator)
    body = [*rows(), ("JIU/REP/2016/1", "4", "x", "Sometimes", "", "", "Implemented", "")]
    status, page = _upload(client, workbook(body))
    assert "3 new, 0 to update, 0 unchanged, 1 with errors" in page
    assert "Apply the import" not in page
    assert _counts(app) == (0, 0)
    status, page = _upload(client, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old.xls")
    assert status == 400
    assert ".xls" in page


def test_focal_points_cannot_import(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        focal = make_user(role=Role.FOCAL_POINT, unit=make_unit()).email
    login(client, focal)
    assert client.get("/oversight/import").status_code == 403


def test_command_previews_applies_and_reports_the_summary(app: Flask, tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    with app.app_context():
        unit = make_unit(code="GS-IMP")
        risk = make_risk(unit=unit)
        ref = risk.ref
    path = tmp_path / "list.csv"
    header = ";".join([*HEADER, "Unit", "Risks", "Target date"])
    path.write_text(
        header + "\r\n" + "\r\n".join(";".join([*map(str, r), "GS-IMP", ref, "2027-06-30"]) for r in rows()) + "\r\n",
        encoding="utf-8",
    )
    runner = app.test_cli_runner()
    dry = runner.invoke(recommendations_group, ["import", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "3 new" in dry.output
    assert _counts(app) == (0, 0)
    done = runner.invoke(recommendations_group, ["import", str(path)])
    assert done.exit_code == 0, done.output
    assert runner.invoke(recommendations_group, ["import", str(path)]).output.count("unchanged") >= 1
    assert _counts(app) == (3, 3)
    with app.app_context():
        rec = db.session.scalars(select(Recommendation).where(Recommendation.number == "1")).one()
        assert rec.target_date == date(2027, 6, 30)
    summary = runner.invoke(recommendations_group, ["summary", "--report", "JIU/REP/2016/1"])
    assert summary.exit_code == 0, summary.output
    assert (
        "Out of the 2 formal recommendations addressed to the secretariat, 1 has been implemented and 1 is in "
        "progress; out of the 1 informal recommendation, 1 is on track." in summary.output
    )
    past = runner.invoke(recommendations_group, ["summary", "--as-at", "2000-01-01"])
    assert "There are no recommendations to report." in past.output
    bad = runner.invoke(recommendations_group, ["summary", "--as-at", "yesterday"])
    assert bad.exit_code == 1
    broken = tmp_path / "broken.csv"
    broken.write_text(header + "\r\nJIU/REP/2016/1;9;x;Formal;;;Gone;;;;\r\n", encoding="utf-8")
    refused = runner.invoke(recommendations_group, ["import", str(broken)])
    assert refused.exit_code == 1
    assert _counts(app) == (3, 3)
