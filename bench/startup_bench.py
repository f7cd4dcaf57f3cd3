"""App start-up: from a fresh interpreter to the first response (target: under 1 s), and a gunicorn worker's boot.

    .venv/bin/python bench/startup_bench.py [--repeat 7]

Each run is a new process (nothing cached in memory; the OS file cache is warm after the first run, as on a
server that restarts). In the child: import riskreg, create_app(), then GET /login through the test client,
each step timed from the interpreter's start; the heavy libraries still not imported at that point are listed
(they load on first use: matplotlib for heat maps, openpyxl for workbooks). The gunicorn line is from starting
the process to the first answer over HTTP on 127.0.0.1 (1 worker). References: `python -c pass`, and importing
Flask + SQLAlchemy alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OUT, PYTHON, ROOT, app_env, database_url, free_port, gunicorn, median, write_json  # noqa: E402
from bench.data import ensure  # noqa: E402

CHILD = """
import time
t0 = time.perf_counter()
import sys, json
from riskreg import create_app
t_import = time.perf_counter()
app = create_app()
t_app = time.perf_counter()
response = app.test_client().get("/login")
t_first = time.perf_counter()
assert response.status_code == 200, response.status_code
heavy = ["matplotlib", "openpyxl", "numpy", "PIL", "lxml", "xlsxwriter"]
print(json.dumps({
    "import_ms": (t_import - t0) * 1000, "create_app_ms": (t_app - t_import) * 1000,
    "first_response_ms": (t_first - t_app) * 1000, "total_ms": (t_first - t0) * 1000,
    "not_loaded": [m for m in heavy if m not in sys.modules],
}))
"""


def child_run(url: str) -> dict[str, Any]:
    started = time.perf_counter()
    out = subprocess.run([PYTHON, "-c", CHILD], env=app_env(url), cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_ms"] = (time.perf_counter() - started) * 1000
    return result


def wall(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([PYTHON, *args], check=True, cwd=ROOT, capture_output=True)
    return (time.perf_counter() - started) * 1000


def gunicorn_boot(url: str) -> float:
    started = time.perf_counter()
    with gunicorn(url, workers=1, port=free_port()):
        return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path, default=OUT / "startup.json")
    args = parser.parse_args()
    url = ensure("sqlite", 1000)
    assert url == database_url("sqlite", 1000)
    child_run(url)  # warm the file cache
    runs = [child_run(url) for _ in range(args.repeat)]
    floor = [wall(["-c", "pass"]) for _ in range(args.repeat)]
    bare = [wall(["-c", "import flask, flask_sqlalchemy, sqlalchemy"]) for _ in range(args.repeat)]
    boots = [gunicorn_boot(url) for _ in range(max(3, args.repeat // 2))]
    result = {
        "repeat": args.repeat,
        **{k: median([r[k] for r in runs]) for k in ("import_ms", "create_app_ms", "first_response_ms", "total_ms")},
        "process_ms": median([r["process_ms"] for r in runs]),
        "process_ms_max": max(r["process_ms"] for r in runs),
        "python_pass_ms": median(floor),
        "flask_sqlalchemy_import_ms": median(bare),
        "gunicorn_first_response_ms": median(boots),
        "not_loaded_at_first_response": runs[0]["not_loaded"],
    }
    write_json(args.json, result)
    not_loaded = ", ".join(result["not_loaded_at_first_response"])
    print(
        f"import {result['import_ms']:.0f} ms + create_app {result['create_app_ms']:.0f} ms + first response "
        f"{result['first_response_ms']:.0f} ms = {result['total_ms']:.0f} ms in process "
        f"(whole process {result['process_ms']:.0f} ms, max {result['process_ms_max']:.0f}); "
        f"python -c pass {result['python_pass_ms']:.0f} ms, flask+sqlalchemy import "
        f"{result['flask_sqlalchemy_import_ms']:.0f} ms; gunicorn (1 worker) start to first HTTP answer "
        f"{result['gunicorn_first_response_ms']:.0f} ms; not loaded yet: {not_loaded}"
    )


if __name__ == "__main__":
    main()
