from __future__ import annotations

import tomllib

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from riskreg.cli import main
from riskreg.extensions import db
from riskreg.models import AppetiteStatement, User


def test_riskreg_help_lists_the_commands() -> None:
    result = CliRunner().invoke(main, ["--help"], env={"RISKREG_SECRET_KEY": "x" * 40})
    assert result.exit_code == 0, result.output
    for command in ("db", "setup", "appetite", "demo", "user", "heatmap", "export", "import"):
        assert f"  {command} " in result.output or f"  {command}\n" in result.output, command


def test_user_create_takes_password_from_environment(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["user", "create", "ana@example.org", "--role", "coordinator"],
        env={"RISKREG_PASSWORD": "a long enough passphrase"},
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "ana@example.org")).one()
        assert user.password_hash.startswith("$argon2id$")


def test_user_create_errors_are_one_line(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["user", "create", "fp@example.org", "--role", "focal_point", "--unit", "NOPE"],
        env={"RISKREG_PASSWORD": "a long enough passphrase"},
    )
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "no unit with the code NOPE" in result.output


def test_appetite_export_then_load_round_trips(app: Flask, tmp_path) -> None:
    runner = app.test_cli_runner()
    out = tmp_path / "2.0.toml"
    assert runner.invoke(args=["appetite", "export", "2.0", "--out", str(out)]).exit_code == 0
    data = tomllib.loads(out.read_text())
    assert data["document_symbol"] == "C20/61"
    assert data["categories"]["INT"]["zero_tolerance"] is True
    copy = (
        out.read_text()
        .replace('version = "2.0"', 'version = "2.1-draft"')
        .replace('status = "endorsed"', 'status = "draft"')
    )
    (tmp_path / "copy.toml").write_text(copy)
    result = runner.invoke(args=["appetite", "load", str(tmp_path / "copy.toml")])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["appetite", "export", "2.1-draft"]).output
    assert tomllib.loads(again)["categories"] == data["categories"]
    with app.app_context():
        assert db.session.scalars(
            select(AppetiteStatement.status).where(AppetiteStatement.version == "2.1-draft")
        ).one()


def test_appetite_export_unknown_version_fails_cleanly(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["appetite", "export", "9.9"])
    assert result.exit_code != 0
    assert "no statement version '9.9'" in result.output
    assert "Traceback" not in result.output


def test_appetite_load_names_file_and_key_of_a_bad_file(app: Flask, tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'version = "3.0"\ntitle = "t"\noverall = "o"\n'
        '[categories.FIN]\nlevel = "cautious"\nappetite_max = 12\ntolerance_max = 9\n'
    )
    result = app.test_cli_runner().invoke(args=["appetite", "load", str(bad)])
    assert result.exit_code != 0
    assert "bad.toml: categories.FIN" in result.output
    assert "tolerance maximum" in result.output
