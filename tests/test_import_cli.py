"""`riskreg import register`: the preview as a table, exit status 1 and nothing written on errors, apply otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select

from riskreg.audit import SYSTEM
from riskreg.extensions import db
from riskreg.imports.commands import import_group
from riskreg.models import AuditEvent, ImportRun, Risk
from riskreg.policy import load_bundled_policy
from tests.factories import make_unit
from tests.test_imports import register_book, register_row


@pytest.fixture
def frmd(app: Flask) -> str:
    with app.app_context():
        load_bundled_policy(db.session, SYSTEM)
        db.session.commit()
        make_unit(code="GS-FRMD", name="Financial Resources Management")
    return "GS-FRMD"


def run(app: Flask, *args: str) -> Result:
    # The group is invoked directly, so these tests do not depend on where the lead registers it.
    return app.test_cli_runner().invoke(import_group, ["register", *args])


def counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(  # type: ignore[return-value]
            db.session.scalar(select(func.count()).select_from(model)) or 0 for model in (Risk, ImportRun, AuditEvent)
        )


def write(tmp_path: Path, data: bytes, name: str = "register.xlsx") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_dry_run_prints_the_preview_and_writes_nothing(app: Flask, frmd: str, tmp_path: Path) -> None:
    path = write(tmp_path, register_book(register_row("FIN-001", "Late contributions"), register_row("7", "Payroll")))
    before = counts(app)
    result = run(app, path, "--unit", frmd, "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["Sheet", "Row", "Ref", "Action", "Title", "Details"]
    assert any("FIN-001" in line and "New risk" in line and "Late contributions" in line for line in lines)
    assert any("FRMD-7" in line for line in lines)
    assert "register.xlsx into GS-FRMD: 2 new, 0 updated, 0 unchanged, 0 with errors" in result.output
    assert "dry run: nothing was written" in result.output
    assert counts(app) == before


def test_apply_writes_the_risks_and_a_second_run_changes_nothing(app: Flask, frmd: str, tmp_path: Path) -> None:
    path = write(tmp_path, register_book(register_row("FIN-001", "Late contributions")))
    result = run(app, path, "--unit", frmd)
    assert result.exit_code == 0, result.output
    assert "imported (import run 1): 1 new, 0 updated, 0 unchanged" in result.output
    assert "applying: 1/1 (100%)" in result.output  # the progress line (stderr)
    with app.app_context():
        risk = db.session.scalars(select(Risk).where(Risk.ref == "FIN-001")).one()
        assert risk.residual_score == 9
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).one()
        assert event.actor_email.startswith("cli:")
    again = run(app, path, "--unit", frmd)
    assert again.exit_code == 0, again.output
    assert "0 new, 0 updated, 1 unchanged" in again.output


def test_errors_exit_non_zero_and_write_nothing(app: Flask, frmd: str, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        register_book(register_row("FIN-001", "Fine"), register_row("FIN-002", "Bad", **{"Residual impact": 9})),
    )
    before = counts(app)
    result = run(app, path, "--unit", frmd)
    assert result.exit_code == 1
    assert "error: Register L5:" in result.output
    assert "1 row(s) with errors: nothing was written" in result.output
    assert counts(app) == before


def test_refused_files_unknown_units_and_bad_mappings_exit_non_zero(app: Flask, frmd: str, tmp_path: Path) -> None:
    good = write(tmp_path, register_book(register_row("FIN-001", "A")))
    result = run(app, write(tmp_path, b"%PDF-1.7", "register.xlsx"), "--unit", frmd)
    assert result.exit_code == 1
    assert "This file is a PDF document, not a spreadsheet" in result.output
    result = run(app, good, "--unit", "GS-NOPE")
    assert result.exit_code == 1
    assert "no active unit with code 'GS-NOPE'" in result.output
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[columns]\n"Risk title" = "colour"\n', encoding="utf-8")
    result = run(app, good, "--unit", frmd, "--mapping", str(mapping))
    assert result.exit_code == 1
    assert "is not a field" in result.output
    assert counts(app)[1] == 0


def test_mapping_and_sheet_options_are_used(app: Flask, frmd: str, tmp_path: Path) -> None:
    from tests.test_importer import xlsx

    data = xlsx(
        [
            ["Code", "Risk heading", "Category", "Owner", "Likelihood", "Impact", "Mitigation", "Due date"],
            ["FIN-9", "Cash shortfall", "FIN", "Treasurer", 2, 2, "Credit line", "31/12/2030"],
        ],
        title="Risks 2026",
    )
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[columns]\n"Code" = "ref"\n"Risk heading" = "title"\n', encoding="utf-8")
    path = write(tmp_path, data)
    result = run(app, path, "--unit", frmd, "--mapping", str(mapping), "--sheet", "Risks 2026", "--dry-run")
    assert result.exit_code == 0, result.output
    assert any("FIN-9" in line and "Cash shortfall" in line for line in result.output.splitlines())
    result = run(app, path, "--unit", frmd, "--sheet", "Other")
    assert result.exit_code == 1
    assert "no sheet named 'Other'" in result.output
