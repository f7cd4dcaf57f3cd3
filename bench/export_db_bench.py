"""Council export from the cached demo databases: the R5 operation end to end (load the register or the frozen
snapshot from the database, plan, heat map, workbook, log), at each size, on SQLite and PostgreSQL.

    .venv/bin/python bench/export_db_bench.py                       # 1k / 10k / 100k, both databases
    .venv/bin/python bench/export_db_bench.py --sizes 10000 --repeat 3

Each measurement is a fresh process (peak RSS is per process): app created, then
`riskreg.exports.operations.build_council_export` timed for the live register ("now", as the exports page's
draft) and for the last closed cycle (its frozen snapshot), Council audience. It commits an ExportRun row and
an audit event, as the page does; nothing else changes. bench/export_bench.py (R5's) times the workbook
library on generated rows; this one times what a user waits for.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BACKENDS, OUT, PYTHON, ROOT, SIZES, make_app, write_json  # noqa: E402
from bench.data import ensure  # noqa: E402


def child(url: str, which: str, audience: str = "council") -> dict[str, Any]:
    from riskreg.audit import SYSTEM
    from riskreg.exports import operations
    from riskreg.extensions import db

    app = make_app(url)
    with app.app_context():
        cycle = None if which == "now" else operations.closed_cycles(db.session)[0]
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started, cpu = time.perf_counter(), time.process_time()
        result = operations.build_council_export(
            db.session,
            SYSTEM,
            cycle=cycle,
            audience=audience,
            symbol="C26/BENCH",
            annex="1",
            classification="For official use only",
            prepared_by="Benchmark",
        )
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": peak / 1024,
        "growth_mb": (peak - before) / 1024,
        "bytes": len(result.data),
    }


def measure(backend: str, n: int, which: str, repeat: int, audience: str = "council") -> dict[str, Any]:
    url = ensure(backend, n)
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [PYTHON, str(Path(__file__)), "--child", url, which, audience],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "backend": backend,
        "risks": n,
        "register": which,
        "runs": repeat,
        "seconds": statistics.median(r["seconds"] for r in runs),
        "cpu": statistics.median(r["cpu"] for r in runs),
        "peak_mb": max(r["peak_mb"] for r in runs),
        "growth_mb": max(r["growth_mb"] for r in runs),
        "bytes": runs[-1]["bytes"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--repeat", type=int, default=3, help="runs per case below 100,000 risks (1 at 100,000)")
    parser.add_argument("--json", type=Path, default=OUT / "export_db.json")
    parser.add_argument("--audience", default="council", choices=("council", "taskforce"))
    parser.add_argument("--registers", default="now,closed cycle", help="now, closed cycle, or both (comma)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    print(f"audience: {args.audience}; wall s and CPU s (the building process, not the database server's)")
    print(
        f"{'db':<10} {'risks':>7} {'register':<14} {'runs':>4} {'wall s':>7} {'cpu s':>6} {'peak MB':>8} {'+MB':>5} "
        f"{'bytes':>11}"
    )
    results = []
    for backend in args.backends.split(","):
        for n in (int(s) for s in args.sizes.split(",")):
            for which in args.registers.split(","):
                r = measure(backend, n, which, 1 if n >= 100_000 else args.repeat, args.audience)
                results.append(r)
                print(
                    f"{backend:<10} {n:>7,} {which:<14} {r['runs']:>4} {r['seconds']:>7.2f} {r['cpu']:>6.2f} "
                    f"{r['peak_mb']:>8.0f} {r['growth_mb']:>5.0f} {r['bytes']:>11,}",
                    flush=True,
                )
    write_json(args.json, results)


if __name__ == "__main__":
    main()
