"""The import page end to end through the Flask test client: upload + preview, re-import preview, apply.

Run: .venv/bin/python bench/import_web_bench.py [--rows N] [--apply] [--database-url URL]
Targets (R6): the preview of a 10,000-row register under 10 s and 300 MB. Uses a fresh SQLite database
in a temporary folder (or the PostgreSQL URL given, which is emptied first). Prints one line per step:
wall and CPU time; with --trace the step's tracemalloc peak; the process's RSS high-water mark and how
much the step raised it (the file, the parsed rows and the plan; the app and the test data are already
resident).
"""

from __future__ import annotations

import argparse
import io
import re
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from import_bench import as_openpyxl, register_rows  # noqa: E402

PASSWORD = "bench passphrase that is long enough"


def make_app(folder: Path, database_url: str | None) -> Any:
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text

    from riskreg import create_app
    from riskreg.audit import SYSTEM
    from riskreg.auth.operations import UserData, create_user
    from riskreg.extensions import db
    from riskreg.models import OrgUnit, Role, UnitKind
    from riskreg.policy import load_bundled_policy

    uri = database_url or f"sqlite:///{folder / 'bench.sqlite'}"
    if database_url:
        engine = create_engine(
            database_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
        )
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app(
        {
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
            "SQLALCHEMY_DATABASE_URI": uri,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "IMPORT_UPLOAD_DIR": str(folder / "uploads"),
        }
    )
    with app.app_context():
        upgrade()
        load_bundled_policy(db.session, SYSTEM)
        db.session.add(OrgUnit(code="GS-FRMD", name="Financial Resources Management", kind=UnitKind.OTHER))
        db.session.commit()
        create_user(
            db.session,
            SYSTEM,
            UserData(email="coord@bench.org", name="Coord", title="Coordinator", role=Role.COORDINATOR, unit_code=None),
            PASSWORD,
        )
    return app


TRACE = False  # --trace: tracemalloc's peak per step (tracing slows Python several times: times are then not real)


def measured(label: str, step: Callable[[], Any]) -> Any:
    if TRACE:
        tracemalloc.start()
        tracemalloc.reset_peak()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu = time.perf_counter(), time.process_time()
    try:
        result = step()
    finally:
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak = f"{tracemalloc.get_traced_memory()[1] / 1e6:8.0f}" if TRACE else f"{'-':>8}"
        tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{label:44} {wall:7.2f} {cpu:6.2f} {peak} {rss:10.0f} {rss - before:7.0f}", flush=True)
    return result


def upload(client: Any, data: bytes) -> str:
    response = client.post(
        "/import/",
        data={"file": (io.BytesIO(data), "register.xlsx"), "unit": "GS-FRMD"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.status_code
    found = re.search(r'name="token" value="([A-Za-z0-9_-]{32})"', response.text)
    counts = re.findall(r'card-number">(\d+)</span><span class="card-label">([a-z ]+)<', response.text)
    print("    preview:", ", ".join(f"{n} {label}" for n, label in counts), f"({len(response.data) / 1e3:.0f} kB page)")
    assert found
    return found.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--apply", action="store_true", help="also apply the import, then preview the same file again")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (emptied first); default: SQLite")
    parser.add_argument("--trace", action="store_true", help="report tracemalloc peaks (and slow everything down)")
    args = parser.parse_args()
    global TRACE
    TRACE = args.trace
    rows = register_rows(args.rows)
    data = as_openpyxl(rows)
    changed = [list(r) for r in rows]
    for n, row in enumerate(changed):
        if n % 10 == 0:
            row[7] = "Someone else"  # the owner: one row in ten becomes an update
    changed_data = as_openpyxl(changed)
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), args.database_url)
        client = app.test_client()
        response = client.post("/login", data={"email": "coord@bench.org", "password": PASSWORD})
        assert response.status_code == 302
        backend = "PostgreSQL" if args.database_url else "SQLite"
        print(
            f"web import of {args.rows:,} rows ({len(data) / 1e6:.1f} MB .xlsx), {backend}; "
            "targets: preview < 10 s, < 300 MB"
        )
        print(f"{'step':44} {'wall s':>7} {'cpu s':>6} {'peak MB':>8} {'max RSS MB':>10} {'+RSS MB':>7}")
        token = measured("upload + preview (empty register)", lambda: upload(client, data))
        measured("preview page again (GET, re-reads the file)", lambda: client.get(f"/import/{token}?show=new&page=3"))
        if not args.apply:
            return
        measured("apply (one transaction)", lambda: client.post("/import/apply", data={"token": token}))
        measured("upload + preview (same file: all unchanged)", lambda: upload(client, data))
        measured("upload + preview (1 row in 10 changed)", lambda: upload(client, changed_data))


if __name__ == "__main__":
    main()
