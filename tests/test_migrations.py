from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.exc import DatabaseError

import riskreg
from riskreg.extensions import db
from riskreg.models import Base
from riskreg.risks.search import include_name
from tests.factories import make_risk, make_unit

MIGRATIONS = Path(riskreg.__file__).parent / "migrations"


def test_single_head() -> None:
    from alembic.config import Config

    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_migrated_schema_matches_models(app: Flask) -> None:
    with app.app_context():
        with db.engine.connect() as conn:
            opts = {"compare_type": True, "include_name": include_name}
            diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
        assert diff == []
        assert set(inspect(db.engine).get_table_names()) >= set(Base.metadata.tables)


@pytest.mark.parametrize("table", ["audit_events", "assessments"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET id = id", "DELETE FROM {table}"])
def test_history_rows_cannot_be_changed_or_deleted(app: Flask, table: str, statement: str) -> None:
    with app.app_context():
        make_risk(unit=make_unit())  # writes an assessment and audit events
        with pytest.raises(DatabaseError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement.format(table=table)))


def test_sqlite_connections_enforce_foreign_keys_and_wal(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite pragmas only")
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == app.config["SQLITE_BUSY_TIMEOUT_MS"]
