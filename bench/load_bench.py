"""Load run: locust (headless, 127.0.0.1 only, bounded in time) against gunicorn with 2 and 4 sync workers, on
SQLite and PostgreSQL: requests per second, p50 / p95 / p99, failures, edits accepted and conflicts.

    .venv/bin/python bench/load_bench.py                                  # 10,000 risks, 40 s per run
    .venv/bin/python bench/load_bench.py --risks 1000 --duration 20 --users 12 --workers 2

Each run works on a fresh copy of the cached demo database (bench/data.py), so edits never change the cached
one: a file copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL. The user mix is in bench/locustfile.py
(sign-in through the form with its CSRF token; browsing, filtering, searching, editing with the version
field, one Council export). Login rate limits are switched off for the run (RISKREG_RATELIMIT_ENABLED=false):
all virtual users sign in from 127.0.0.1 within seconds, which the per-address limit rightly refuses.
Locust runs on the same 2 cores as the server: the figures are what this machine serves with its load
generator beside it, a floor rather than a ceiling.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OUT, PG_SERVER, ROOT, VENV_BIN, free_port, gunicorn, write_json  # noqa: E402
from bench.data import _psql, ensure  # noqa: E402


def copy_database(backend: str, n: int, name: str) -> str:
    """A throw-away copy of the cached n-risk database; its URL."""
    source = ensure(backend, n)
    if backend == "sqlite":
        src = Path(source.removeprefix("sqlite:///"))
        with sqlite3.connect(src) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        target = OUT / f"{name}.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        shutil.copyfile(src, target)
        return f"sqlite:///{target}"
    _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _psql(f"CREATE DATABASE {name} TEMPLATE riskreg_bench_{n}")
    return f"{PG_SERVER}/{name}"


def drop_copy(backend: str, url: str, name: str) -> None:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def read_stats(prefix: Path) -> dict[str, Any]:
    """Locust's *_stats.csv: the aggregated line and one line per request name."""
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv", newline="")))  # noqa: SIM115 - read whole

    def pick(row: dict[str, str]) -> dict[str, Any]:
        return {
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "rps": float(row["Requests/s"]),
            "p50": float(row["50%"] or 0),
            "p95": float(row["95%"] or 0),
            "p99": float(row["99%"] or 0),
            "max": float(row["Max Response Time"] or 0),
        }

    by_name = {f"{r['Type']} {r['Name']}": pick(r) for r in rows if r["Name"] != "Aggregated"}
    total = next(pick(r) for r in rows if r["Name"] == "Aggregated")
    return {"total": total, "by_name": by_name}


def run(backend: str, n: int, workers: int, users: int, duration: int) -> dict[str, Any]:
    name = f"riskreg_bench_load_{backend[:2]}"
    url = copy_database(backend, n, name)
    port = free_port()
    prefix = OUT / f"load_{backend}_{n}_{workers}w"
    log = OUT / f"gunicorn_{backend}_{workers}w.log"
    try:
        with gunicorn(url, workers=workers, port=port, log=log, RISKREG_RATELIMIT_ENABLED="false"):
            command = [
                str(VENV_BIN / "locust"),
                "-f",
                str(ROOT / "bench" / "locustfile.py"),
                "--headless",
                "--host",
                f"http://127.0.0.1:{port}",
                "-u",
                str(users),
                "-r",
                str(max(1, users // 2)),
                "-t",
                f"{duration}s",
                "--stop-timeout",
                "10",
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ]
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=duration + 120)
    finally:
        drop_copy(backend, url, name)
    stats = read_stats(prefix)
    posted = stats["by_name"].get("POST /risks/<ref>/edit (POST)", {"requests": 0, "failures": 0})
    conflicts = stats["by_name"].get("POST /risks/<ref>/edit (POST, 409 conflict)", {"requests": 0})
    return {
        "backend": backend,
        "risks": n,
        "workers": workers,
        "users": users,
        "duration_s": duration,
        "locust_exit": done.returncode,
        **stats["total"],
        "edits_accepted": posted["requests"] - posted["failures"],
        "edit_conflicts": conflicts["requests"],
        "export": stats["by_name"].get("POST /exports/ (POST, workbook)"),
        "by_name": stats["by_name"],
    }


HEADER = (
    f"{'db':<10} {'risks':>6} {'workers':>7} {'users':>5} {'requests':>8} {'rps':>6} {'p50':>5} {'p95':>6} "
    f"{'p99':>6} {'fail':>4} {'edits':>5} {'409':>4} {'export ms':>9}"
)


def line(r: dict[str, Any]) -> str:
    export = r["export"]["p50"] if r["export"] else float("nan")
    return (
        f"{r['backend']:<10} {r['risks']:>6,} {r['workers']:>7} {r['users']:>5} {r['requests']:>8} {r['rps']:>6.1f} "
        f"{r['p50']:>5.0f} {r['p95']:>6.0f} {r['p99']:>6.0f} {r['failures']:>4} {r['edits_accepted']:>5} "
        f"{r['edit_conflicts']:>4} {export:>9.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--risks", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", default="2,4")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=int, default=40, help="seconds per run")
    parser.add_argument("--json", type=Path, default=OUT / "load.json")
    args = parser.parse_args()
    print("times in ms (locust's client-side response times, same machine)")
    print(HEADER)
    results = []
    for backend in args.backends.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            result = run(backend, args.risks, workers, args.users, args.duration)
            results.append(result)
            print(line(result), flush=True)
    write_json(args.json, results)


if __name__ == "__main__":
    main()
