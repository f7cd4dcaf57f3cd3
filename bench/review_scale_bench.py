"""The review pages at scale (issue R14): server time of each page on the demo databases, first request after a
restart and steady state.

    .venv/bin/python bench/review_scale_bench.py [--sizes 10000,100000] [--backends sqlite,postgresql] [--repeat 15]

Databases: bench/data.py's demo organisation (three cycles: two closed, the last one open), built once and
reused. Each case runs in a fresh process (create_app, sign in as the demo admin), so its first request is
the first one after a restart: no memo, no warmed cache of this process (the operating system's file cache is
warm, as on a server that restarts its workers). Then the same request `--repeat` times: median and p95
(nearest rank). Times are in-process (Flask test client): the server's work without the network.
Targets (issue 17): open cycle p95 < 1 s at 100,000 risks; closed cycle < 500 ms, first request included;
no request over about 2 s of work.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ADMIN_EMAIL, BACKENDS, DEMO_PASSWORD, PYTHON, ROOT, make_app, percentile  # noqa: E402

CASES = ("open", "open-unit", "open-target", "closed", "closed-unit", "cell", "cycle-page", "decide", "minutes")


def _paths(app: Any) -> dict[str, str]:
    """The URL of each case on this database."""
    from sqlalchemy import func, select

    from riskreg.extensions import db
    from riskreg.models import CycleStatus, Risk
    from riskreg.review import queries

    with app.app_context():
        cycles = queries.cycles(db.session)
        live = next(c.code for c in cycles if c.status != CycleStatus.CLOSED)
        closed = next(c.code for c in cycles if c.status == CycleStatus.CLOSED)
        cell = db.session.execute(
            select(Risk.residual_likelihood, Risk.residual_impact)
            .where(Risk.deleted_at.is_(None))
            .group_by(Risk.residual_likelihood, Risk.residual_impact)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        ref = db.session.scalar(select(Risk.ref).where(Risk.deleted_at.is_(None)).order_by(Risk.id).limit(1))
        db.session.remove()
    return {
        "open": f"/review/?cycle={live}",
        "open-unit": f"/review/?cycle={live}&unit=GS-FRMD",
        "open-target": f"/review/?cycle={live}&kind=target&nature=all",
        "closed": f"/review/?cycle={closed}",
        "closed-unit": f"/review/?cycle={closed}&unit=GS-FRMD",
        "cell": f"/review/cell?cycle={live}&l={cell[0]}&i={cell[1]}",
        "cycle-page": f"/review/cycles/{live}",
        "decide": f"/review/cycles/{live}/decide/{ref}",
        "minutes": f"/review/cycles/{live}/minutes",
    }


def child(url: str, case: str, repeat: int) -> dict[str, Any]:
    app = make_app(url, WTF_CSRF_ENABLED=False)  # the in-process client only reads
    path = _paths(app)[case]
    client = app.test_client()
    # Recording decisions is the task force's; the admin reads everything else.
    email = "taskforce@demo.riskreg.org" if case == "decide" else ADMIN_EMAIL
    response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.status_code
    samples, cpu = [], []
    for _ in range(repeat + 1):
        started, used = time.perf_counter(), time.process_time()
        response = client.get(path)
        samples.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
        assert response.status_code == 200, (path, response.status_code)
    steady = samples[1:]
    return {
        "case": case,
        "path": path,
        "first_ms": samples[0] * 1000,
        "median_ms": statistics.median(steady) * 1000,
        "p95_ms": percentile(steady, 95) * 1000,
        "max_ms": max(steady) * 1000,
        "cpu_first_ms": cpu[0] * 1000,
        "cpu_median_ms": statistics.median(cpu[1:]) * 1000,
        "bytes": len(response.get_data()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--child", nargs=3, metavar=("URL", "CASE", "REPEAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, case, repeat = args.child
        print(json.dumps(child(url, case, int(repeat))))
        return
    from bench.data import ensure

    print("wall: in-process server time; cpu: this process's CPU (on PostgreSQL the database server's is not in it)")
    print(
        f"{'db':<10} {'risks':>7} {'case':<12} {'first ms':>9} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} "
        f"{'cpu 1st':>8} {'cpu med':>8}  path"
    )
    for backend in args.backends.split(","):
        for n in (int(s) for s in args.sizes.split(",")):
            url = ensure(backend, n)
            for case in args.cases.split(","):
                out = subprocess.run(
                    [PYTHON, __file__, "--child", url, case, str(args.repeat)],
                    cwd=ROOT,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(
                    f"{backend:<10} {n:>7,} {case:<12} {r['first_ms']:>9.0f} {r['median_ms']:>10.0f} "
                    f"{r['p95_ms']:>8.0f} {r['max_ms']:>8.0f} {r['cpu_first_ms']:>8.0f} {r['cpu_median_ms']:>8.0f}  "
                    f"{r['path']}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
