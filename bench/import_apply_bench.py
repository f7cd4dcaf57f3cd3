"""Import apply at bulk speed, and other users' saves while a 10,000-row import runs (R14 items 3, R10 item 1).

Run: .venv/bin/python bench/import_apply_bench.py [--rows 10000] [--editors 20] [--backends sqlite,postgresql]

Per database, on a fresh database (SQLite file under bench/out, PostgreSQL database riskreg_bench_import):
1. apply alone: a register of N new rows (bench/import_bench.py's shape: a control and two actions each) through
   `apply_file` (the operation the import job runs): read, then plan + write under the unit's lock. "lock held"
   is the write transaction's length: on SQLite the database's single write lock, which other writers wait for
   up to the busy timeout (SQLITE_BUSY_TIMEOUT_MS, 15 s); on PostgreSQL only the unit's row lock (other units'
   imports and every edit go on).
2. the same with editors: gunicorn (2 workers, as `make run`) serves the database; E editor threads in this
   process sign in and save their own risk's edit form in a loop, pausing 1-3 s between saves, while another
   process reads and applies another N-row file exactly as the import job does (read, then `apply_file`). Prints the
   saves' latency (p50/p95/max) and how many answered anything but a redirect (errors), from the moment the
   import starts to the moment it ends.
Targets (issue #17): apply < 15 s for 10,000 rows; saves during it p95 < 2 s, 0 errors.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from import_bench import as_openpyxl, register_rows  # noqa: E402

from bench.common import OUT, PG_SERVER, VENV_BIN, app_env, free_port, gunicorn, percentile  # noqa: E402

PASSWORD = "bench passphrase that is long enough"
EDITOR = "editor@bench.org"


def fresh_database(backend: str) -> str:
    from sqlalchemy import create_engine, text

    if backend == "sqlite":
        path = OUT / "import_apply.sqlite"
        OUT.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    name = "riskreg_bench_import"
    engine = create_engine(f"{PG_SERVER}/postgres".replace("postgresql://", "postgresql+psycopg://"),
                           isolation_level="AUTOCOMMIT")  # fmt: skip
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return f"{PG_SERVER}/{name}"


def prepare(url: str, editors: int) -> Any:
    """Schema, policy, two units, the editor, and one risk per editor (imported into GS-ICT)."""
    from flask_migrate import upgrade

    from bench.common import make_app
    from riskreg.audit import SYSTEM
    from riskreg.auth.operations import UserData, create_user
    from riskreg.extensions import db
    from riskreg.importer import read_register
    from riskreg.imports.operations import apply_file
    from riskreg.models import OrgUnit, Role, UnitKind
    from riskreg.policy import current_scales, load_bundled_policy

    app = make_app(url.replace("postgresql://", "postgresql+psycopg://"), JOBS_IMMEDIATE=True)
    with app.app_context():
        upgrade()
        load_bundled_policy(db.session, SYSTEM)
        for code, name in (("GS-FRMD", "Financial Resources Management"), ("GS-ICT", "Information Services")):
            db.session.add(OrgUnit(code=code, name=name, kind=UnitKind.OTHER))
        db.session.commit()
        data = UserData(email=EDITOR, name="Editor", title="Coordinator", role=Role.COORDINATOR, unit_code=None)
        create_user(db.session, SYSTEM, data, PASSWORD)
        rows = [[f"ICT-{n:04d}", *row[1:6], "GS-ICT", *row[7:]] for n, row in enumerate(register_rows(editors, 7))]
        unit = db.session.query(OrgUnit).filter_by(code="GS-ICT").one()
        result = read_register(as_openpyxl(rows), "editors.xlsx", current_scales(db.session))
        apply_file(db.session, SYSTEM, unit, result, seen=None, scales=current_scales(db.session))
    return app


def apply_alone(app: Any, rows: int) -> dict[str, float]:
    from riskreg.audit import SYSTEM
    from riskreg.extensions import db
    from riskreg.importer import Limits, read_register
    from riskreg.imports.operations import apply_file
    from riskreg.models import OrgUnit
    from riskreg.policy import current_scales

    data = as_openpyxl(register_rows(rows, 1))
    with app.app_context():
        unit = db.session.query(OrgUnit).filter_by(code="GS-FRMD").one()
        scales = current_scales(db.session)
        started = time.perf_counter()
        result = read_register(data, "bench.xlsx", scales, limits=Limits(max_seconds=3600))  # a busy machine
        db.session.commit()  # the read holds no lock; the apply's transaction starts below
        read = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        run = apply_file(db.session, SYSTEM, unit, result, seen=None, scales=scales)
        locked, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert run.created_count == rows, run.summary
    return {"read_s": read, "apply_s": locked, "apply_cpu_s": cpu, "ms_per_row": 1000 * locked / rows}


class _Fields(HTMLParser):
    """The edit form's fields as a browser submits them (first post form that is not the sign-out one)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.inside = self.done = False
        self.select: str | None = None
        self.first: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.done and a.get("method", "").lower() == "post":
            self.inside = a.get("action", "") != "/logout"
        if not self.inside:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields[name] = a.get("value", "y")
            elif kind not in ("submit", "button", "file"):
                self.fields[name] = a.get("value", "")
        elif tag == "select" and name:
            self.select, self.first = name, None
        elif tag == "option" and self.select:
            self.first = a.get("value", "") if self.first is None else self.first
            if "selected" in a:
                self.fields[self.select] = a.get("value", "")
        elif tag == "textarea" and name:
            self.textarea = name
            self.fields[name] = ""

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.fields[self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self.select:
            self.fields.setdefault(self.select, self.first or "")
            self.select = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "form" and self.inside:
            self.inside, self.done = False, True


def form_fields(html: str) -> dict[str, str]:
    parser = _Fields()
    parser.feed(html)
    return {k: v.removeprefix("\r").removeprefix("\n") for k, v in parser.fields.items()}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def editor(port: int, ref: str, stop: threading.Event, go: threading.Event, out: list[tuple[float, int]]) -> None:
    """Sign in, then save the risk's edit form again and again; (seconds, status) per save once `go` is set."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
    base = f"http://127.0.0.1:{port}"

    def call(path: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with opener.open(base + path, body, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as answer:
            return answer.code, answer.read().decode(errors="replace")
        except OSError:
            return 0, ""

    status, page = call("/login")
    fields = form_fields(page)
    call("/login", {**fields, "email": EDITOR, "password": PASSWORD})
    n = 0
    while not stop.is_set():
        status, page = call(f"/risks/{ref}/edit")
        fields = form_fields(page)
        n += 1
        fields["title"] = re.sub(r" \[edit \d+\]$", "", fields.get("title", ""))[:100] + f" [edit {n}]"
        started = time.perf_counter()
        status, _ = call(f"/risks/{ref}/edit", fields)
        if go.is_set():
            out.append((time.perf_counter() - started, status))
        stop.wait(random.uniform(1.0, 3.0))  # a person reads the page between saves


def with_editors(url: str, rows: int, editors: int) -> dict[str, Any]:
    data = as_openpyxl([[f"LIVE-{n:05d}", *row[1:]] for n, row in enumerate(register_rows(rows, 3))])
    path = OUT / "import_apply_live.xlsx"
    path.write_bytes(data)
    refs = [f"ICT-{n:04d}" for n in range(editors)]
    stop, go = threading.Event(), threading.Event()
    out: list[tuple[float, int]] = []
    port = free_port()
    with gunicorn(url, workers=2, port=port, log=OUT / "import_apply_gunicorn.log", RISKREG_RATELIMIT_ENABLED="false"):
        threads = [threading.Thread(target=editor, args=(port, ref, stop, go, out)) for ref in refs]
        for thread in threads:
            thread.start()
        time.sleep(3)  # every editor signed in and saving
        go.set()
        started = time.perf_counter()
        done = subprocess.run(
            [str(VENV_BIN / "python"), __file__, "--child-apply", str(path), "--url", url],
            env=app_env(url),
            capture_output=True,
            text=True,
        )
        import_s = time.perf_counter() - started
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    seconds = [s for s, _ in out]
    errors = [status for _, status in out if status not in (302, 303)]
    return {
        "import_s": import_s,
        "saves": len(out),
        "p50_ms": 1000 * percentile(seconds, 50) if seconds else 0.0,
        "p95_ms": 1000 * percentile(seconds, 95) if seconds else 0.0,
        "max_ms": 1000 * max(seconds, default=0.0),
        "errors": len(errors),
        "error_statuses": sorted(set(errors)),
    }


def child_apply(path: Path, url: str) -> None:
    """What the import job does, in its own process: read the file (no transaction), then `apply_file`."""
    from bench.common import make_app
    from riskreg.audit import SYSTEM
    from riskreg.extensions import db
    from riskreg.importer import Limits, read_register
    from riskreg.imports.operations import apply_file
    from riskreg.models import OrgUnit
    from riskreg.policy import current_scales

    app = make_app(url.replace("postgresql://", "postgresql+psycopg://"), JOBS_IMMEDIATE=True)
    with app.app_context():
        unit = db.session.query(OrgUnit).filter_by(code="GS-FRMD").one()
        scales = current_scales(db.session)
        db.session.commit()
        result = read_register(path.read_bytes(), path.name, scales, limits=Limits(max_seconds=3600))
        run = apply_file(db.session, SYSTEM, unit, result, seen=None, scales=scales)
        print(run.summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child-apply", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--editors", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    if args.child_apply:
        child_apply(args.child_apply, args.url)
        return
    print(
        f"import apply of {args.rows:,} new rows; targets: apply < 15 s, "
        f"{args.editors} editors' saves p95 < 2 s, 0 errors"
    )
    print(f"{'database':10} {'read s':>7} {'apply s':>8} {'cpu s':>6} {'ms/row':>7} | {'import s':>8} {'saves':>6} "
          f"{'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'errors':>6}")  # fmt: skip
    for backend in args.backends.split(","):
        url = fresh_database(backend)
        app = prepare(url, args.editors)
        alone = apply_alone(app, args.rows)
        from riskreg.extensions import db

        with app.app_context():
            db.engine.dispose()
        live = with_editors(url, args.rows, args.editors)
        print(
            f"{backend:10} {alone['read_s']:7.2f} {alone['apply_s']:8.2f} {alone['apply_cpu_s']:6.2f} "
            f"{alone['ms_per_row']:7.2f} | {live['import_s']:8.2f} {live['saves']:6d} {live['p50_ms']:7.0f} "
            f"{live['p95_ms']:7.0f} {live['max_ms']:7.0f} {live['errors']:6d} {live['error_statuses'] or ''}",
            flush=True,
        )
    print("apply s = the write transaction (SQLite: the database's write lock; PostgreSQL: the unit's row lock);")
    print("import s = the import job's work in its own process (read, then plan + apply) while the editors save;")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (a shared machine)")


if __name__ == "__main__":
    main()
