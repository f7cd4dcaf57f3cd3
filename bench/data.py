"""The benchmark databases: the demo organisation with 1,000 / 10,000 / 100,000 risks (about three assessments
and three actions each), on SQLite files under bench/out/ and PostgreSQL databases riskreg_bench_<n>
(prefix from RISKREG_BENCH_PG_PREFIX).

    .venv/bin/python bench/data.py                        # make sure all six exist (builds the missing ones)
    .venv/bin/python bench/data.py --sizes 1000 --backends sqlite
    .venv/bin/python bench/data.py --rebuild --sizes 1000

Built once with the real commands (`riskreg db upgrade`, `riskreg demo --risks N`) and reused: a database
that holds risks is kept and only migrated to the current head (then re-analysed if that changed anything).
The demo loads in one transaction, so an interrupted build leaves no risks and is rebuilt next time.
Building 100,000 risks takes ~2 min on SQLite and ~4 min on PostgreSQL here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BACKENDS, OUT, PG_PREFIX, PG_SERVER, SIZES, database_url, riskreg_cli, sqlite_path  # noqa: E402


def _engine(url: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url)


def _state(url: str) -> tuple[int, str]:
    """(number of risks, alembic revision); (0, "") when the database or its tables do not exist."""
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError, OperationalError, ProgrammingError

    engine = _engine(url)
    try:
        with engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar() or ""
            risks = conn.execute(text("SELECT count(*) FROM risks")).scalar() or 0
            return int(risks), str(revision)
    except (OperationalError, ProgrammingError, DatabaseError):
        return 0, ""
    finally:
        engine.dispose()


def _psql(sql: str) -> None:
    subprocess.run(["psql", PG_SERVER + "/postgres", "-qAtc", sql], check=True, capture_output=True, text=True)


def _pg_exists(name: str) -> bool:
    out = subprocess.run(
        ["psql", PG_SERVER + "/postgres", "-Atc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return out == "1"


def analyse(url: str) -> None:
    """Fresh planner statistics (and, on PostgreSQL, the visibility map that index-only scans need)."""
    from sqlalchemy import text

    engine = _engine(url)
    if url.startswith("sqlite"):
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def _wipe(backend: str, n: int) -> None:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(sqlite_path(n)) + suffix).unlink(missing_ok=True)
    else:
        name = f"{PG_PREFIX}_{n}"
        if _pg_exists(name):
            _psql(f"DROP DATABASE {name} WITH (FORCE)")
        _psql(f"CREATE DATABASE {name}")


def ensure(backend: str, n: int, *, rebuild: bool = False, log: bool = True) -> str:
    """The URL of a migrated benchmark database with the demo organisation and n risks; builds it if needed."""
    OUT.mkdir(parents=True, exist_ok=True)
    url = database_url(backend, n)
    if backend == "postgresql" and not _pg_exists(f"{PG_PREFIX}_{n}"):
        _psql(f"CREATE DATABASE {PG_PREFIX}_{n}")
    risks, revision = (0, "") if rebuild else _state(url)
    if risks:
        riskreg_cli(url, "db", "upgrade", quiet=True)
        if _state(url)[1] != revision:
            if log:
                print(f"{backend} {n:,}: migrated {revision} -> head, analysing", file=sys.stderr)
            analyse(url)
        return url
    if log:
        print(f"{backend} {n:,}: building (riskreg db upgrade + demo --risks {n})", file=sys.stderr)
    started = time.perf_counter()
    _wipe(backend, n)
    riskreg_cli(url, "db", "upgrade", quiet=True)
    riskreg_cli(url, "demo", "--risks", str(n), quiet=True)
    analyse(url)
    if log:
        print(f"{backend} {n:,}: built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--rebuild", action="store_true", help="drop and build again even when present")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        for n in (int(s) for s in args.sizes.split(",")):
            url = ensure(backend, n, rebuild=args.rebuild)
            risks, revision = _state(url)
            print(f"{backend:<10} {n:>7,}  {risks:>7,} risks  revision {revision}  {url}")


if __name__ == "__main__":
    main()
