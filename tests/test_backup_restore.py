"""`riskreg backup` during concurrent writes, then `riskreg restore` into an empty database (issue R10 item 7).

Both databases. Writer threads create risks through the operations (each thread its own app context, so its
own connection) while the backup runs; the backup restores into an empty database to an instance that serves
the same register: every risk committed before the backup started is there, nothing that was not committed
before it ended, and the restored pages render as the source's do.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from riskreg import create_app
from riskreg.extensions import db
from riskreg.models import AuditEvent, OrgUnit, Risk, Role
from tests.conftest import base_config
from tests.factories import make_risk, make_unit, make_user
from tests.security_world import record_summary, sign_in

WRITERS = 3
CSRF = re.compile(rb'name="csrf_token"[^>]*>|value="[A-Za-z0-9._-]{40,}"')


@pytest.fixture
def empty_target(database_uri: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as the source: a new SQLite path, or a scratch PostgreSQL database."""
    url = make_url(database_uri)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite'}"
        return
    scratch = f"{url.database}_restore"  # derived from this branch's own test database
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{scratch}"'))
    yield url.set(database=scratch).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
    admin.dispose()


def _writer(
    app: Flask, unit_id: int, number: int, committed: list[str], lock: threading.Lock, stop: threading.Event
) -> None:
    with app.app_context():
        for i in range(400):
            if stop.is_set():
                break
            unit = db.session.get(OrgUnit, unit_id)
            assert unit is not None
            risk = make_risk(unit=unit, title=f"Writer {number} risk {i}")
            with lock:
                committed.append(risk.ref)
        db.session.remove()


def _refs(app: Flask) -> set[str]:
    with app.app_context():
        refs = set(db.session.scalars(select(Risk.ref)))
        db.session.remove()
    return refs


def _page(app: Flask, user_id: int, path: str) -> bytes:
    client = app.test_client()
    sign_in(app, client, user_id)
    response = client.get(path)
    assert response.status_code == 200, path
    return CSRF.sub(b"", response.data)


def test_backup_during_writes_restores_the_same_register(
    app: Flask, empty_target: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with app.app_context():
        units = [make_unit(code=f"GS-BK{n}", name=f"Backup unit {n}").id for n in range(WRITERS)]
        coordinator = make_user(role=Role.COORDINATOR, email="coordinator@example.org").id
        db.session.remove()
    committed: list[str] = []
    lock, stop = threading.Lock(), threading.Event()
    threads = [
        threading.Thread(target=_writer, args=(app, unit, n, committed, lock, stop)) for n, unit in enumerate(units)
    ]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 120
        while len(committed) < 15 and time.monotonic() < deadline:
            time.sleep(0.05)
        with lock:
            before = set(committed)
        out = tmp_path / "register.backup"
        result = app.test_cli_runner().invoke(args=["backup", str(out)])
        with lock:
            after = set(committed)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=300)
    assert result.exit_code == 0, result.output
    assert "backup written" in result.output
    assert out.stat().st_mode & 0o077 == 0, "a backup holds password hashes: owner-only"
    assert len(before) >= 15

    restored_app = create_app(base_config(empty_target, HEATMAP_CACHE_DIR=str(tmp_path / "cache2")))
    result = restored_app.test_cli_runner().invoke(args=["restore", str(out)])
    assert result.exit_code == 0, result.output
    for check in ("foreign key check: ok", "(head)", "search index"):
        assert check in result.output

    restored = _refs(restored_app)
    assert before <= restored <= after, "the backup is one consistent moment between its start and its end"
    assert restored <= _refs(app)
    with restored_app.app_context():
        # Every restored risk came with its audit record: no transaction was cut in half.
        created = set(db.session.scalars(select(AuditEvent.entity_id).where(AuditEvent.entity == "risk")))
        assert restored <= created
        db.session.remove()

    # The restored instance serves the same register: the same risk pages, and the search finds the same risk.
    some = sorted(before)[:3]
    for ref in some:
        assert _page(restored_app, coordinator, f"/risks/{ref}") == _page(app, coordinator, f"/risks/{ref}")
    title = "Writer 0 risk 0"
    listing = _page(restored_app, coordinator, f"/risks?q={title.replace(' ', '+')}")
    assert title.encode() in listing
    record_summary(
        "backup_restore",
        request.node.callspec.params["database_uri"],
        {
            "risks_before_backup": len(before),
            "risks_committed_during_backup": len(after - before),
            "risks_restored": len(restored),
        },
    )
    with restored_app.app_context():
        db.engine.dispose()


def test_restore_refuses_a_database_that_is_not_empty(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    out = tmp_path / "copy.backup"
    assert runner.invoke(args=["backup", str(out)]).exit_code == 0
    result = runner.invoke(args=["restore", str(out)])
    assert result.exit_code != 0
    assert "not empty" in result.output
    again = runner.invoke(args=["backup", str(out)])
    assert again.exit_code != 0
    assert "already exists" in again.output


@pytest.mark.parametrize("database_uri", ["sqlite"], indirect=True)
def test_restore_refuses_a_damaged_backup(app: Flask, empty_target: str, tmp_path: Path) -> None:
    out = tmp_path / "copy.backup"
    assert app.test_cli_runner().invoke(args=["backup", str(out)]).exit_code == 0
    data = bytearray(out.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 4096] = b"\xff" * 4096
    out.write_bytes(bytes(data))
    restored_app = create_app(base_config(empty_target))
    result = restored_app.test_cli_runner().invoke(args=["restore", str(out)])
    assert result.exit_code != 0
    assert "restore failed" in result.output
    assert (
        not Path(make_url(empty_target).database or "").exists()
        or Path(make_url(empty_target).database or "").stat().st_size == 0
    )
