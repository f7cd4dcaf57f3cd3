"""Backup, restore and the checks a restored database must pass. No Flask: callers pass a database URL.

Every check returns a line for the report or raises BackupError with a message that says what is wrong.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import ColumnElement, column, create_engine, func, literal_column, select, table, text
from sqlalchemy.engine import URL, Connection, make_url

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot be done or did not check out; the message says why."""


@dataclass
class Report:
    """What a backup or restore did and found: one line per check, and the register's size."""

    lines: list[str] = field(default_factory=list)
    risks: int = 0
    revision: str = ""


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}


# --------------------------------------------------------------------------- backup


def backup(url: str | URL, out: Path) -> Report:
    """Write a backup of the database at `url` to `out` (which must not exist) and check the copy."""
    url = make_url(url)
    if out.exists():
        raise BackupError(f"{out} already exists: choose a new file name (a backup never overwrites)")
    if not out.parent.is_dir():
        raise BackupError(f"folder {out.parent} does not exist")
    part = out.with_name(out.name + ".part")
    part.unlink(missing_ok=True)
    # Owner-only from the first byte: a backup holds password hashes and the whole register.
    os.close(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        if url.get_backend_name() == "sqlite":
            report = _backup_sqlite(_sqlite_path(url), part)
        elif url.get_backend_name() == "postgresql":
            report = _backup_postgresql(url, part)
        else:
            raise BackupError(f"no backup method for {url.get_backend_name()} databases")
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    report.lines.append(f"backup written: {out} ({out.stat().st_size:,} bytes)")
    return report


def _backup_sqlite(source: Path, part: Path) -> Report:
    if not source.is_file():
        raise BackupError(f"no database file at {source}")
    with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(part)) as dst:
        # One step (pages=-1): the copy is one read transaction, a consistent snapshot; in WAL mode the app
        # keeps writing meanwhile. Never copy the file itself: the last commits may sit in its -wal file.
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
    try:
        with closing(sqlite3.connect(part)) as copy:
            return check_sqlite(copy, require_head=False)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"the copy does not check out: {exc}") from exc


def _backup_postgresql(url: URL, part: Path) -> Report:
    _run_pg(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={part}"], url)
    listing = _run_pg(["pg_restore", "--list", str(part)], url)
    if "TABLE DATA public risks" not in listing:
        raise BackupError("the dump holds no risks table: is this a RiskReg database?")
    report = Report()
    with _pg_connection(url) as conn:
        report.risks = int(conn.execute(text("SELECT count(*) FROM risks")).scalar_one())
        report.revision = str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())
    report.lines.append(f"pg_dump custom format; {report.risks:,} risks at revision {report.revision}")
    return report


# --------------------------------------------------------------------------- restore


def restore(url: str | URL, source: Path) -> Report:
    """Restore `source` into the empty database at `url`; the caller then upgrades if needed and checks."""
    url = make_url(url)
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    magic = source.read_bytes()[:16] if source.stat().st_size >= 16 else b""
    if url.get_backend_name() == "sqlite":
        if not magic.startswith(SQLITE_MAGIC):
            raise BackupError(f"{source} is not an SQLite backup (a PostgreSQL dump restores into PostgreSQL)")
        try:
            return _restore_sqlite(source, _sqlite_path(url))
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} cannot be read as a database: {exc}") from exc
    if url.get_backend_name() == "postgresql":
        if not magic.startswith(PG_MAGIC):
            raise BackupError(f"{source} is not a pg_dump custom-format file")
        return _restore_postgresql(source, url)
    raise BackupError(f"no restore method for {url.get_backend_name()} databases")


def _restore_sqlite(source: Path, target: Path) -> Report:
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as backup_db:
        # Refuse a damaged backup before touching the target (the search index is checked once restored).
        check_sqlite(backup_db, require_head=False, search_index=False)
        if target.exists() and target.stat().st_size:
            with closing(sqlite3.connect(target)) as existing:
                tables = existing.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            if tables:
                raise BackupError(f"{target} is not empty ({tables} tables): restore only into an empty database")
        part = target.with_name(target.name + ".restoring")
        part.unlink(missing_ok=True)
        try:
            with closing(sqlite3.connect(part)) as dst:
                backup_db.backup(dst)
                dst.execute("PRAGMA journal_mode=WAL")
            for suffix in ("-wal", "-shm"):
                Path(str(target) + suffix).unlink(missing_ok=True)
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
    return Report(lines=[f"restored into {target}"])


def _restore_postgresql(source: Path, url: URL) -> Report:
    with _pg_connection(url) as conn:
        tables = conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar_one()
    if tables:
        raise BackupError(f"database {url.database} is not empty ({tables} tables): restore only into an empty one")
    _run_pg(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={url.database}",
            str(source),
        ],
        url,
    )
    return Report(lines=[f"restored into database {url.database}"])


# --------------------------------------------------------------------------- checks


def check(url: str | URL, require_head: bool = True) -> Report:
    """Integrity, foreign keys, migration revision and search index of the database at `url`."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        try:
            with closing(sqlite3.connect(_sqlite_path(url))) as conn:
                return check_sqlite(conn, require_head)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"the database cannot be read: {exc}") from exc
    with _pg_connection(url) as conn:
        return check_postgresql(conn, require_head)


def check_sqlite(conn: sqlite3.Connection, require_head: bool, search_index: bool = True) -> Report:
    report = Report()
    integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if integrity != ["ok"]:
        raise BackupError("integrity check failed: " + "; ".join(integrity[:5]))
    report.lines.append("integrity check: ok")
    problems = conn.execute("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise BackupError(f"foreign key check failed: {len(problems)} rows refer to missing rows, e.g. {problems[0]}")
    report.lines.append("foreign key check: ok")
    report.revision = _revision(conn.execute("SELECT version_num FROM alembic_version").fetchall(), require_head)
    report.lines.append(f"migration revision: {report.revision}" + (" (head)" if require_head else ""))
    if search_index:
        report.lines.append("search index: " + _check_fts(conn))
    report.risks = int(conn.execute("SELECT count(*) FROM risks").fetchone()[0])
    return report


def _check_fts(conn: sqlite3.Connection) -> str:
    """Check the FTS5 index against the risks table (rank=1); rebuild it once if it disagrees."""
    try:
        conn.execute("INSERT INTO risks_fts(risks_fts, rank) VALUES ('integrity-check', 1)")
        return "consistent with the risks table"
    except sqlite3.DatabaseError:
        conn.execute("INSERT INTO risks_fts(risks_fts) VALUES ('rebuild')")
        conn.commit()
        try:
            conn.execute("INSERT INTO risks_fts(risks_fts, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"search index is inconsistent even after a rebuild: {exc}") from exc
        return "rebuilt, now consistent with the risks table"


def check_postgresql(conn: Connection, require_head: bool) -> Report:
    report = Report()
    # pg_restore re-creates and validates every constraint; one left NOT VALID would mean unchecked rows.
    unchecked = conn.execute(text("SELECT conname FROM pg_constraint WHERE NOT convalidated")).scalars().all()
    if unchecked:
        raise BackupError(f"constraints not validated: {', '.join(unchecked)}")
    invalid = (
        conn.execute(
            text("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid")
        )
        .scalars()
        .all()
    )
    if invalid:
        raise BackupError(f"invalid indexes: {', '.join(invalid)}")
    report.lines.append("integrity: every constraint validated, every index valid")
    report.lines.append("foreign key check: ok (enforced by the restore)")
    rows = [tuple(r) for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    report.revision = _revision(rows, require_head)
    report.lines.append(f"migration revision: {report.revision}" + (" (head)" if require_head else ""))
    expression = conn.execute(
        text(
            "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a "
            "ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
            "WHERE d.adrelid = 'risks'::regclass AND a.attname = 'search_vector' AND a.attgenerated = 's'"
        )
    ).scalar()
    if expression is None:
        raise BackupError("risks.search_vector is missing or not a generated column")
    # The expression is the column's own definition, read from the catalog: recompute it and compare.
    recomputed: ColumnElement[Any] = literal_column(f"({expression})")
    stale = conn.execute(
        select(func.count()).select_from(table("risks")).where(column("search_vector").is_distinct_from(recomputed))
    ).scalar_one()
    if stale:
        raise BackupError(f"search index: {stale} risks have a stale search vector")
    report.lines.append("search index: every risk's search vector matches its text")
    report.risks = int(conn.execute(text("SELECT count(*) FROM risks")).scalar_one())
    return report


def _revision(rows: list[tuple[object, ...]], require_head: bool) -> str:
    if len(rows) != 1:
        raise BackupError(f"alembic_version holds {len(rows)} rows, expected 1")
    revision = str(rows[0][0])
    if revision not in known_revisions():
        raise BackupError(f"migration revision {revision} is unknown to this version of RiskReg (a newer backup?)")
    if require_head and revision != head_revision():
        raise BackupError(f"migration revision {revision} is not the head {head_revision()}")
    return revision


# --------------------------------------------------------------------------- helpers


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError("the database is in memory or not a plain file path: nothing to back up or restore")
    return Path(url.database)


@contextmanager
def _pg_connection(url: URL) -> Iterator[Connection]:
    engine = create_engine(url.set(drivername="postgresql+psycopg"))
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def _run_pg(args: list[str], url: URL) -> str:
    """Run a PostgreSQL client tool against `url`; the password travels in the environment, not argv."""
    tool = shutil.which(args[0])
    if tool is None:
        raise BackupError(f"{args[0]} is not installed (Debian: apt-get install postgresql-client)")
    env = {**os.environ}
    for var, value in (
        ("PGHOST", url.host),
        ("PGPORT", url.port),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value is not None:
            env[var] = str(value)
    result = subprocess.run([tool, *args[1:]], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{args[0]} failed: {message[-1] if message else 'exit status ' + str(result.returncode)}")
    return result.stdout
