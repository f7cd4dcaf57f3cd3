"""Fixtures: every database test runs on SQLite and, when RISKREG_TEST_DATABASE_URL is set, on PostgreSQL.

The schema is built by the real migrations once per backend per session; each test then starts from a
copy (SQLite) or a truncated database (PostgreSQL) holding only the bundled policy data.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from riskreg import create_app
from riskreg.audit import SYSTEM

PG_URL = os.environ.get("RISKREG_TEST_DATABASE_URL", "")

# `make mutation` runs the pure-core tests with this profile: the same examples on every run, so that a mutant's
# verdict does not depend on the luck of the draw (and no example database is shared between mutants).
settings.register_profile("mutation", derandomize=True, database=None)
BACKENDS = ["sqlite", "postgresql"]
PASSWORD = "correct horse battery staple"


def base_config(uri: str, **extra: Any) -> dict[str, Any]:
    return {
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "SQLALCHEMY_DATABASE_URI": uri,
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "JOBS_IMMEDIATE": True,  # background jobs run at once in the asking process (tests/test_jobs.py starts workers)
        **extra,
    }


def _prepare(uri: str) -> None:
    """Migrate to head and load the bundled policy, exactly as `riskreg db upgrade` + `setup` would."""
    from flask_migrate import upgrade

    from riskreg.extensions import db
    from riskreg.policy import load_bundled_policy

    app = create_app(base_config(uri))
    with app.app_context():
        upgrade()
        load_bundled_policy(db.session, SYSTEM)
        db.session.commit()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    _prepare(f"sqlite:///{path}")
    return path


def _pg_url() -> str:
    url = make_url(PG_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_ready() -> str:
    if not PG_URL:
        pytest.skip("RISKREG_TEST_DATABASE_URL is not set (CI sets it; see .ci/run)")
    url = _pg_url()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    _prepare(url)
    return url


_PG_KEEP = (
    "alembic_version",
    "risk_categories",
    "methodologies",
    "rating_bands",
    "appetite_statements",
    "category_appetites",
)


def _pg_reset(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            if r[0] not in _PG_KEEP
        ]
        # DELETE with triggers and foreign-key checks off (TRUNCATE ... CASCADE would also empty the policy
        # tables, which reference users); then restart the id sequences.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in tables:
            conn.execute(text(f'DELETE FROM "{table}"'))
        conn.execute(text("SET LOCAL session_replication_role = origin"))
        for (sequence,) in conn.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")):
            if not any(sequence.startswith(k + "_") for k in _PG_KEEP):
                conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
        # Statements are policy data but tests draft and endorse new ones: keep only the bundled versions.
        conn.execute(text("ALTER TABLE category_appetites DISABLE TRIGGER USER"))
        conn.execute(text("ALTER TABLE appetite_statements DISABLE TRIGGER USER"))
        conn.execute(
            text(
                "DELETE FROM category_appetites WHERE statement_id IN "
                "(SELECT id FROM appetite_statements WHERE version NOT IN ('1.0', '2.0'))"
            )
        )
        conn.execute(text("DELETE FROM appetite_statements WHERE version NOT IN ('1.0', '2.0')"))
        conn.execute(
            text("UPDATE appetite_statements SET status = 'endorsed', effective_to = NULL WHERE version = '2.0'")
        )
        conn.execute(text("ALTER TABLE category_appetites ENABLE TRIGGER USER"))
        conn.execute(text("ALTER TABLE appetite_statements ENABLE TRIGGER USER"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url = str(request.getfixturevalue("pg_ready"))
    _pg_reset(url)
    return url


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Extra config for the `app` fixture; override in a module to switch features on."""
    return {}


@pytest.fixture
def app(database_uri: str, app_config: dict[str, Any], tmp_path: Path) -> Iterator[Flask]:
    folders = {"HEATMAP_CACHE_DIR": str(tmp_path / "cache"), "JOBS_PROGRESS_DIR": str(tmp_path / "jobs"),
               "EXPORT_JOB_DIR": str(tmp_path / "exports")}  # fmt: skip
    application = create_app(base_config(database_uri, **{**folders, **app_config}))
    yield application
    from riskreg.extensions import db

    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """An app context for tests that call operations directly."""
    with app.app_context():
        yield


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, f"login of {email} failed"


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Say how many database tests ran on each backend, so CI shows PostgreSQL ran rather than skipped."""
    counts = {backend: {"passed": 0, "skipped": 0, "failed": 0} for backend in BACKENDS}
    for outcome in ("passed", "skipped", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            params = nodeid.rpartition("[")[2].rstrip("]") if "[" in nodeid else ""
            for backend in BACKENDS:
                if backend in params.split("-"):
                    counts[backend][outcome] += 1
    line = "; ".join(
        f"{backend}: {c['passed']} passed, {c['skipped']} skipped, {c['failed']} failed"
        for backend, c in counts.items()
    )
    terminalreporter.write_sep("-", "database tests by backend")
    terminalreporter.write_line(line)
